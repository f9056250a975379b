"""Helpers of the deliverable exporters' tests: a small plan with extra fabrics added."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from rscctl.declare import load_build
from rscctl.planner import build_plan
from rscctl.planner.labels import end_text, label
from rscctl.planner.model import Cable, Plan
from tests.conftest import small_build_dict, write_build


def small_plan(tmp: Path, **kw: Any) -> Plan:
    return build_plan(load_build(str(write_build(tmp, small_build_dict(**kw)))))


def cable(plan: Plan, cid: str, fabric: str, a: str, ap: str, b: str, bp: str) -> Cable:
    devs = plan.device_index()
    da, db = devs[a], devs[b]
    ea, eb = end_text(da.rack, da.ru, a, ap), end_text(db.rack, db.ru, b, bp)
    return Cable(cable_id=cid, fabric=fabric, a_device=a, a_port=ap, a_rack=da.rack,
                 b_device=b, b_port=bp, b_rack=db.rack, media="dac", part_number="P-1",
                 length_m=1.0, label_a=label(cid, ea, eb), label_b=label(cid, eb, ea))


def with_other_fabrics(plan: Plan) -> Plan:
    """The plan plus storage cables (in-pod and to a spine) and an oob cable across pods,
    standing in for the fabrics other stages add, to prove the exporters group generically."""
    extra = [
        cable(plan, "S1-S001-N01", "storage", "dgx0001", "mlx5_8", "leaf-s001-r1", "39"),
        cable(plan, "S1-S002-N01", "storage", "dgx0005", "mlx5_8", "leaf-s002-r1", "39"),
        cable(plan, "S2-S001-R1", "storage", "leaf-s001-r1", "40", "spine01", "L20/P40"),
        cable(plan, "O1-S001-N01", "oob", "dgx0001", "bmc", "leaf-s002-r2", "38"),
    ]
    return replace(plan, cables=plan.cables + tuple(extra))
