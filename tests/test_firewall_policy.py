"""Policy declarations that would open the internet or lock the operators out are refused at
validation (exit 2) with a message naming the field and the fix. Cases are data."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from rscctl.cli import main
from rscctl.declare import load_build
from rscctl.errors import UserError
from rscctl.planner.checks import Context
from rscctl.planner.firewall import check_firewall_zones
from rscctl.planner.model import Plan
from tests.conftest import TOPOLOGY, small_build_dict, write_build

Doc = dict[str, Any]


def firewall_doc() -> Doc:
    """A small build with the shipped networks and policy."""
    shipped = yaml.safe_load((TOPOLOGY / "phase1.yaml").read_text())
    doc = small_build_dict()
    doc["networks"] = copy.deepcopy(shipped["networks"])
    doc["policy"] = copy.deepcopy(shipped["policy"])
    return doc


def flow(doc: Doc, name: str) -> Doc:
    return next(f for f in doc["policy"]["flows"] if f["name"] == name)  # type: ignore[no-any-return]


def zone(doc: Doc, name: str) -> Doc:
    return next(z for z in doc["policy"]["zones"] if z["name"] == name)  # type: ignore[no-any-return]


def add_flow(**kw: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        doc["policy"]["flows"].append({"name": "extra", "proto": "tcp", "ports": [80], **kw})
    return mutate


def drop_flow(name: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        doc["policy"]["flows"] = [f for f in doc["policy"]["flows"] if f["name"] != name]
    return mutate


def set_in(getter: Callable[[Doc], Doc], key: str, value: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        getter(doc)[key] = value
    return mutate


CASES: list[tuple[str, Callable[[Doc], None], list[str]]] = [
    ("from-internet", add_flow(**{"from": "internet", "to": "ingest"}),
     ["flows[extra].from", "internet", "external"]),
    ("to-internet", add_flow(**{"from": "compute", "to": "internet"}),
     ["flows[extra].to", "opens no connection out"]),
    ("to-production", add_flow(**{"from": "ingest", "to": "production"}),
     ["flows[extra].to", "production", "connect in"]),
    ("production-to-compute", add_flow(**{"from": "production", "to": "compute"}),
     ["flows[extra].to", "only ingest zones", "compute"]),
    ("production-default-route",
     set_in(lambda d: zone(d, "production"), "prefixes", ["0.0.0.0/0"]),
     ["zones[production].prefixes", "0.0.0.0/0", "internet"]),
    ("production-overlaps-cluster",
     set_in(lambda d: zone(d, "production"), "prefixes", ["10.16.128.0/20"]),
     ["production", "overlaps network inband", "outside the cluster"]),
    ("no-way-to-bastion", drop_flow("operator-ssh"),
     ["locked out", "operator-ssh", "tcp/22"]),
    ("bastion-cannot-ssh-compute",
     set_in(lambda d: flow(d, "ssh"), "to", ["management", "ingest", "storage"]),
     ["bastion", "'compute'", "tcp/22"]),
    ("no-path-to-bmcs", lambda d: [drop_flow("bmc-redfish")(d), drop_flow("bmc-ipmi")(d)],
     ["BMCs", "bmc-redfish"]),
    ("unknown-zone", add_flow(**{"from": "bastoin", "to": "compute"}),
     ["flows[extra].from", "bastoin", "bastion"]),
    ("bad-port", set_in(lambda d: flow(d, "nfs"), "ports", [70000]),
     ["ports", "70000", "1-65535"]),
    ("bad-range", set_in(lambda d: flow(d, "rendezvous"), "ports", ["29500-29400"]),
     ["29500-29400", "low-high"]),
    ("unknown-network", set_in(lambda d: zone(d, "compute"), "networks", ["infiniband"]),
     ["zones[compute].networks", "infiniband", "inband"]),
    ("two-bastion-zones",
     lambda d: d["policy"]["zones"].append({"name": "bastion2", "kind": "bastion",
                                            "roles": ["x"], "networks": ["inband"]}),
     ["2 zones of kind 'bastion'"]),
    ("internal-zone-prefixes",
     set_in(lambda d: zone(d, "compute"), "prefixes", ["10.16.0.0/24"]),
     ["compute", "address plan", "prefixes"]),
    ("unknown-key", set_in(lambda d: flow(d, "nfs"), "port", [2049]),
     ["unknown key 'port'"]),
    ("ssh-between-nodes", add_flow(**{"from": "compute", "to": "compute", "ports": ["1-1024"]}),
     ["flows[extra]", "tcp/22", "only from the bastion"]),
    ("bmc-from-compute", add_flow(**{"from": "compute", "to": "oob", "ports": [443]}),
     ["flows[extra]", "BMCs", "only the management zone"]),
]


def test_shipped_policy_is_valid(tmp_path: Path) -> None:
    b = load_build(str(write_build(tmp_path, firewall_doc())))
    assert b.policy is not None
    assert {z.kind for z in b.policy.zones} >= {"internet", "external", "bastion", "management"}


@pytest.mark.parametrize(("case", "mutate", "words"), CASES, ids=[c[0] for c in CASES])
def test_refused(
    case: str, mutate: Callable[[Doc], None], words: list[str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = firewall_doc()
    mutate(doc)
    path = write_build(tmp_path, doc)
    with pytest.raises(UserError) as err:
        load_build(str(path))
    msg = str(err.value)
    for w in words:
        assert w in msg, f"{case}: {w!r} not in {msg!r}"
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.err and words[0] in out.err



def test_plan_check_finds_empty_bastion_zone(phase1_plan: Plan) -> None:
    """A bastion role that matches no addressed device locks the operators out: exit 1."""
    shipped = next(c for c in phase1_plan.checks if c.name == "firewall-zones")
    assert shipped.passed, shipped.findings
    devices = tuple(replace(d, role="jump-host") if d.role == "bastion" else d
                    for d in phase1_plan.devices)
    broken = replace(phase1_plan, devices=devices)
    findings = check_firewall_zones(broken, Context(broken))
    assert [f.devices for f in findings] == [("bastion",)]
    assert "locked out" in findings[0].message and "roles" in findings[0].fix
