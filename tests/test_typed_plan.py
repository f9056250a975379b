"""Issue 10, point 1: one typed plan from the planner to every consumer.

- read_plan returns exactly what build_plan returned (the whole dataclass, facts, catalog
  entries and check results included) for lab, phase 1 and phase 2;
- no module under rscctl/ reads the plan by a string key or validates a catalog entry again
  (an AST scan, itself tested on code that does each forbidden thing);
- a plan.json whose facts, models or cable families do not fit their types is exit 2 with one
  message naming the file, the line and the field.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rscctl.cli import main
from rscctl.declare import load_build
from rscctl.declare.catalog import CableFamily, HardwareModel
from rscctl.planjson import generate_plan_json, read_plan
from rscctl.planner import build_plan
from rscctl.planner.facts import Facts
from rscctl.planner.model import Plan
from tests.conftest import ROOT

# -- read_plan(plan.json) == build_plan(build) -----------------------------------------------


@pytest.fixture(scope="module")
def lab_plan() -> Plan:
    return build_plan(load_build("lab"))


@pytest.mark.parametrize("name", ["lab", "phase1", "phase2"])
def test_read_plan_returns_what_build_plan_returned(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    plan: Plan = request.getfixturevalue(f"{name}_plan")
    path = tmp_path / "plan.json"
    path.write_text(generate_plan_json(plan), encoding="utf-8")
    again = read_plan(path)
    assert again.facts == plan.facts          # first, for a readable diff when it is the facts
    assert again == plan
    assert isinstance(again.facts, Facts)
    assert all(isinstance(m, HardwareModel) for m in again.models.values())
    assert all(isinstance(c, CableFamily) for c in again.cable_families)
    assert generate_plan_json(again) == path.read_text(encoding="utf-8")


# -- no consumer indexes the plan by a string key ---------------------------------------------

VALIDATED_ONCE = {"rscctl/planjson.py"}  # where plan.json's catalog entries are decoded


def _attr(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == name


def untyped_reads(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) of every read of the plan as dictionaries in `source`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _attr(node.value, "facts"):
            yield node.lineno, "facts[...]"
        elif isinstance(node, ast.Call) and _attr(node.func, "get"):
            owner = node.func.value  # type: ignore[attr-defined]
            if _attr(owner, "facts"):
                yield node.lineno, "facts.get(...)"
            elif isinstance(owner, ast.Subscript) and _attr(owner.value, "models"):
                yield node.lineno, "models[...].get(...)"
        elif (isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant)
              and isinstance(node.left.value, str)
              and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
              and any(_attr(c, "facts") for c in node.comparators)):
            yield node.lineno, f"{node.left.value!r} in facts"
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript)
              and _attr(node.value.value, "models")):
            yield node.lineno, "models[...][...]"
        elif (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
              and isinstance(node.slice.value, str)
              and isinstance(node.value, ast.Name) and node.value.id in ("f", "family")
              and node.slice.value in CableFamily.model_fields):
            yield node.lineno, f"family[{node.slice.value!r}]"
        elif (isinstance(node, ast.Attribute) and node.attr == "model_validate"
              and isinstance(node.value, ast.Name)
              and node.value.id in ("HardwareModel", "CableFamily")):
            yield node.lineno, f"{node.value.id}.model_validate"


BAD = '''
def f(plan, ctx, build):
    a = plan.facts["storage"]
    b = ctx.facts.get("rails", 0)
    c = "firewall" in plan.facts
    d = plan.models[m]["part_number"]
    e = plan.models[m].get("kind")
    g = {(f["media"], p) for f in plan.cable_families}
    h = HardwareModel.model_validate(v)
    ok = plan.facts.storage.nfs.mount_options, plan.models[m].kind, doc["facts"]
'''


def test_the_scan_finds_every_untyped_read() -> None:
    found = [what for _, what in sorted(untyped_reads(BAD))]
    assert found == ["facts[...]", "facts.get(...)", "'firewall' in facts", "models[...][...]",
                     "models[...].get(...)", "family['media']", "HardwareModel.model_validate"
                     ], found


def test_no_module_reads_the_plan_by_string_key() -> None:
    bad = []
    for path in sorted((ROOT / "rscctl").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if rel.startswith("rscctl/declare/"):  # the declaration itself: models by name, once
            continue
        for line, what in untyped_reads(path.read_text(encoding="utf-8")):
            if what.endswith("model_validate") and rel in VALIDATED_ONCE:
                continue
            bad.append(f"{rel}:{line}: {what}")
    assert not bad, "read the typed plan (plan.facts.X.Y, plan.models[m].field):\n" + "\n".join(
        bad)


def test_the_default_domain_is_written_once() -> None:
    """One default for the DNS domain: the declaration's (facts are always filled from it)."""
    literal = re.compile(r"""(["'])rsc\.internal\1""")
    where = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "rscctl").rglob("*.py"))
             if literal.search(p.read_text(encoding="utf-8"))]
    assert len(where) == 1 and where[0].startswith("rscctl/declare/"), where


# -- a malformed plan.json: exit 2 naming the line and the field ------------------------------


def _edit(pattern: str, old: str, new: str) -> tuple[str, str, str]:
    return pattern, old, new


CASES = [
    ("fact-wrong-type", _edit('"facts":', '"ttl":3600', '"ttl":"3600"'),
     ["facts.dns.ttl", "'3600' is not an integer"]),
    ("fact-nested-wrong-type", _edit('"facts":', '"cert_days":730', '"cert_days":true'),
     ["facts.storage.nfs.cert_days", "True is not an integer"]),
    ("fact-unknown-field", _edit('"facts":', '"dns":{', '"dns":{"colour":1,'),
     ["facts.dns", "unknown field 'colour'"]),
    ("fact-missing-field", _edit('"facts":', ',"ttl":3600', ''),
     ["facts.dns", "field 'ttl' is missing"]),
    ("fact-list-expected", _edit('"facts":', '"nameservers":["mgmt01"]', '"nameservers":"x"'),
     ["facts.dns.nameservers", "expected a list"]),
    ("model-wrong-type", _edit('"models":', '"rack_units":18', '"rack_units":"tall"'),
     ["models.dcs-7812r3.rack_units", "valid integer"]),
    ("model-unknown-field", _edit('"models":', '"kind":"director"',
                                  '"kind":"director","colour":1'),
     ["models.dcs-7812r3.colour", "Extra inputs"]),
    ("family-wrong-type", _edit('"cable_families":', '"max_length_m":2.0',
                                '"max_length_m":"far"'),
     ["cable_families[0].max_length_m", "valid number"]),
    ("device-model-unknown", _edit(r'\["dgx0001","gpu-node"', '"dgx-a100"', '"dgx-z"'),
     ["devices:", "model 'dgx-z'", "not a model of this plan"]),
]


@pytest.fixture(scope="module")
def good(lab_plan: Plan) -> str:
    return generate_plan_json(lab_plan)


@pytest.mark.parametrize(("case", "edit", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_malformed_plan_is_exit_2_naming_line_and_field(
    good: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str,
    edit: tuple[str, str, str], words: list[str],
) -> None:
    pattern, old, new = edit
    lines = good.split("\n")
    i = next(i for i, line in enumerate(lines) if re.match(pattern, line))
    assert old in lines[i], (case, old)
    lines[i] = lines[i].replace(old, new, 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.json").write_text("\n".join(lines), encoding="utf-8")
    code = main(["export", "lab", "--out", str(out), "--only", "csv"])
    err = capsys.readouterr().err
    flat = " ".join(err.split())
    assert code == 2, (case, code, err)
    assert "Traceback" not in err and err.count("error:") == 1, err
    assert f"{out / 'plan.json'}:{i + 1}:" in flat, flat
    for w in words:
        assert w in flat, f"{w!r} not in {flat!r}"
    assert "rscctl plan lab" in flat, flat
    assert sorted(p.name for p in out.iterdir()) == ["plan.json"], "something was written"
