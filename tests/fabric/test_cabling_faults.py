"""verify cabling against ibnetdiscover run on ibsim, one injected fault at a time: each is
reported exactly (kind, cable IDs, fix), and a clean fabric gives no finding.

The small build (2 SUs of 4 DGX, QM8790 leaves, two CS8500 directors as their ASICs: 200 nodes)
starts in ibsim in ~0.5 s, so each fault is its own simulator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rscctl.declare import load_build
from rscctl.planner import build_plan
from rscctl.planner.model import Plan
from rscctl.verify.cabling import CablingReport, verify_cabling
from rscctl.verify.ibnetdiscover import read_discovered
from tests.conftest import small_build_dict, write_build
from tests.fabric.faults import Rewire, discover
from tests.ibsim_harness import Sim, need_ib_tools


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    d = tmp_path_factory.mktemp("small")
    return build_plan(load_build(str(write_build(d, small_build_dict()))), check=False)


def _verify(plan: Plan, text: str) -> CablingReport:
    return verify_cabling(plan, read_discovered(text, "ibnetdiscover"))


def _one(rep: CablingReport) -> tuple[str, list[str], str]:
    assert len(rep.findings) == 1, [(f.kind, f.found) for f in rep.findings]
    f = rep.findings[0]
    return f.kind, [c.cable_id for c in f.cables], f.fix


def test_clean_fabric_matches(plan: Plan, tmp_path: Path) -> None:
    need_ib_tools()
    rep = _verify(plan, discover(plan, tmp_path))
    assert rep.matches and rep.findings == []
    assert rep.discovered_links == rep.planned_links == 128 + 2 * 40 * 20


def test_rails_swapped_at_a_node(plan: Plan, tmp_path: Path) -> None:
    need_ib_tools()
    w = Rewire(plan)
    w.swap_a("C1-S001-N01-R1", "C1-S001-N01-R2")
    rep = _verify(plan, discover(w.plan_now(), tmp_path))
    assert _one(rep) == ("swapped", ["C1-S001-N01-R1", "C1-S001-N01-R2"],
                         "swap the cables at dgx0001 ports mlx5_0 and mlx5_1")
    f = rep.findings[0]
    assert "dgx0001:mlx5_0 reaches leaf-s001-r2:1 (planned leaf-s001-r1:1)" in f.found
    c = f.cables[0]
    # Technician's view: both labels, rack and unit of both ends.
    assert c.label_a == w.get("C1-S001-N01-R1").label_a
    assert (c.a.device, c.a.port, c.a.rack) == ("dgx0001", "mlx5_0", w.get(c.cable_id).a_rack)
    assert c.a.ru == plan.device_index()["dgx0001"].ru
    assert (c.b.device, c.b.port, c.b.ru) == ("leaf-s001-r1", "1",
                                              plan.device_index()["leaf-s001-r1"].ru)


def test_uplinks_swapped_at_a_leaf(plan: Plan, tmp_path: Path) -> None:
    need_ib_tools()
    w = Rewire(plan)
    w.swap_a("C2-S001-R1-SP01-L1", "C2-S001-R1-SP02-L2")  # leaf ports 5 and 8
    rep = _verify(plan, discover(w.plan_now(), tmp_path))
    assert _one(rep) == ("swapped", ["C2-S001-R1-SP01-L1", "C2-S001-R1-SP02-L2"],
                         "swap the cables at leaf-s001-r1 ports 5 and 8")
    # the director end is named by its front port, not by ASIC
    assert rep.findings[0].cables[0].b.port == "L01/P01"


def test_uplink_on_the_wrong_director(plan: Plan, tmp_path: Path) -> None:
    need_ib_tools()
    w = Rewire(plan)
    port = w.free_port("spine02")
    w.set("C2-S002-R3-SP01-L2", b_device="spine02", b_port=port)
    rep = _verify(plan, discover(w.plan_now(), tmp_path))
    planned = w.plan.cables[w.at["C2-S002-R3-SP01-L2"]]
    assert _one(rep) == ("moved", ["C2-S002-R3-SP01-L2"],
                         f"move C2-S002-R3-SP01-L2 from spine02 port {port} to spine01 port "
                         f"{planned.b_port}")


def test_missing_cable(plan: Plan, tmp_path: Path) -> None:
    need_ib_tools()
    w = Rewire(plan)
    w.drop("C1-S002-N04-R8")
    rep = _verify(plan, discover(w.plan_now(), tmp_path))
    assert _one(rep)[:2] == ("missing", ["C1-S002-N04-R8"])
    assert "dgx0008:mlx5_7 is dark, leaf-s002-r8:4 is dark" in rep.findings[0].found


def test_hca_on_the_wrong_leaf(plan: Plan, tmp_path: Path) -> None:
    need_ib_tools()
    w = Rewire(plan)
    port = w.free_port("leaf-s001-r5")
    w.set("C1-S001-N02-R4", b_device="leaf-s001-r5", b_port=port)
    rep = _verify(plan, discover(w.plan_now(), tmp_path))
    assert _one(rep) == ("moved", ["C1-S001-N02-R4"],
                         f"move C1-S001-N02-R4 from leaf-s001-r5 port {port} to leaf-s001-r4 "
                         "port 2")


def test_link_taken_down_at_run_time(plan: Plan, tmp_path: Path) -> None:
    """ibsim's console `Unlink` on the running simulator (netfile names: S-<guid>)."""
    need_ib_tools()
    from rscctl.export.ibfabric import ib_fabric

    leaf = next(n for n in ib_fabric(plan).nodes if n.desc == "leaf-s002-r7")

    def unlink(sim: Sim) -> None:
        sim.console(f'Unlink "{leaf.node_id}"[2]')

    rep = _verify(plan, discover(plan, tmp_path, live=unlink))
    assert _one(rep)[:2] == ("missing", ["C1-S002-N02-R7"])


def test_node_description_left_at_its_default(plan: Plan, tmp_path: Path) -> None:
    need_ib_tools()
    default = "MT4123 ConnectX6   Mellanox Technologies"
    text = discover(plan, tmp_path, edit=lambda t: t.replace('"dgx0003 mlx5_2"', f'"{default}"'))
    assert default in text
    rep = _verify(plan, text)
    kind, cables, fix = _one(rep)
    assert (kind, cables) == ("wrong-description", ["C1-S001-N03-R3"])
    assert "set the node description of dgx0003's mlx5_2 to 'dgx0003 mlx5_2'" in fix


def test_wrong_rate(plan: Plan, tmp_path: Path) -> None:
    """A link trained at 4xEDR (ibsim takes the rate from the netfile's port comment)."""
    need_ib_tools()

    def slow(text: str) -> str:
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if '"dgx0002 mlx5_0"' in line and line.startswith("["):
                lines[i] = line.replace("4xHDR", "4xEDR")
        return "\n".join(lines) + "\n"

    rep = _verify(plan, discover(plan, tmp_path, edit=slow))
    kind, cables, _ = _one(rep)
    assert (kind, cables) == ("wrong-rate", ["C1-S001-N02-R1"])
    assert "runs at 4xEDR, planned 4xHDR (wrong speed)" in rep.findings[0].found


def test_unknown_device(plan: Plan, tmp_path: Path) -> None:
    need_ib_tools()
    from dataclasses import replace

    w = Rewire(plan)
    port = w.free_port("leaf-s001-r6")
    dgx = plan.device_index()["dgx0001"]
    intruder = replace(dgx, name="intruder", index=999)
    cable = replace(w.get("C1-S001-N01-R6"), cable_id="X", a_device="intruder",
                    b_port=port)
    bad = replace(plan, devices=(*plan.devices, intruder), cables=(*plan.cables, cable))
    rep = _verify(plan, discover(bad, tmp_path))
    kind, cables, _ = _one(rep)
    assert (kind, cables) == ("unknown-device", [])
    f = rep.findings[0]
    assert "'intruder mlx5_5'" in f.found and f"leaf-s001-r6:{port}" in f.found
    assert [(p.device, p.port) for p in f.ports] == [("leaf-s001-r6", port)]
