"""Faults injected into the simulated fabric: a changed copy of the plan's cables (or of the
netfile ibsim loads), served by ibsim and discovered with the real ibnetdiscover."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rscctl.export.ibfabric import ib_fabric
from rscctl.export.ibtopo import export_fabric
from rscctl.planner.model import Cable, Plan
from rscctl.verify.cabling import hardware_models
from tests.ibsim_harness import Sim, ibsim


class Rewire:
    """The plan's cables, changed the way a technician might get them wrong."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.cables: list[Cable | None] = list(plan.cables)
        self.at = {c.cable_id: i for i, c in enumerate(self.cables)}

    def get(self, cable_id: str) -> Cable:
        c = self.cables[self.at[cable_id]]
        assert c is not None
        return c

    def set(self, cable_id: str, **ends: str) -> None:
        self.cables[self.at[cable_id]] = replace(self.get(cable_id), **ends)

    def swap_a(self, one: str, two: str) -> None:
        """Exchange the A-end plugs (a node's two HCAs, a leaf's two uplink ports)."""
        a, b = self.get(one), self.get(two)
        self.set(one, a_device=b.a_device, a_port=b.a_port)
        self.set(two, a_device=a.a_device, a_port=a.a_port)

    def swap_b(self, one: str, two: str) -> None:
        a, b = self.get(one), self.get(two)
        self.set(one, b_device=b.b_device, b_port=b.b_port)
        self.set(two, b_device=a.b_device, b_port=a.b_port)

    def drop(self, cable_id: str) -> None:
        self.cables[self.at[cable_id]] = None

    def free_port(self, device: str) -> str:
        used = {c.b_port for c in self.plan.cables if c.b_device == device}
        used |= {c.a_port for c in self.plan.cables if c.a_device == device}
        model = hardware_models(self.plan)[self.plan.device_index()[device].model]
        return next(n for n in model.switch_port_names() if n not in used)

    def plan_now(self) -> Plan:
        return replace(self.plan, cables=tuple(c for c in self.cables if c is not None))


def discover(plan: Plan, work: Path, edit: Callable[[str], str] | None = None,
             live: Callable[[Sim], None] | None = None) -> str:
    """ibnetdiscover's output on ibsim serving `plan`'s fabric (netfile text edited by `edit`,
    console commands sent by `live` once it runs)."""
    work.mkdir(parents=True, exist_ok=True)
    text = export_fabric(plan)["fabric/compute.topo"].decode()
    net = work / "net.topo"
    net.write_text(edit(text) if edit else text)
    with ibsim(net, ib_fabric(plan).limits(), work, console=live is not None) as sim:
        if live is not None:
            live(sim)
        return sim.ibnetdiscover()
