"""`rscctl verify firewall`: the nft -j parser (pure, on captured text) and the isolation
proofs on rulesets parsed back by real nft, clean and tampered (cases are data)."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rscctl.cli import main
from rscctl.errors import MissingTool
from rscctl.export import render
from rscctl.firewall import intervals as iv
from rscctl.firewall.nftjson import NftParseError, parse_nft_json
from rscctl.firewall.prove import PROPERTIES
from rscctl.firewall.render import render_rulesets
from rscctl.firewall.zones import resolve_zones
from rscctl.outputs import write_files
from rscctl.planner.model import Plan
from rscctl.verify.firewall import capture, report, verify_firewall

DATA = Path(__file__).parent / "data" / "firewall"
needs_nft = pytest.mark.skipif(
    not shutil.which("nft") or not shutil.which("unshare"), reason="needs nft and unshare"
)


def ip(text: str) -> int:
    from ipaddress import IPv4Address
    return int(IPv4Address(text))


# -- the parser: a pure function over captured text -----------------------------------------

def test_parse_captured_sample() -> None:
    rs = parse_nft_json((DATA / "sample.json").read_text())
    assert [(c.name, c.hook, c.policy) for c in rs.chains] == [
        ("input", "input", "drop"), ("side", None, None), ("forward", "forward", "accept")]
    by_text = {r.text: r for r in rs.rules}
    flow = next(r for r in rs.rules if r.comment == "flow a")
    assert flow.saddr == ((ip("10.16.0.0"), ip("10.16.63.255")),
                          (ip("10.16.128.5"), ip("10.16.128.5")),
                          (ip("10.20.0.1"), ip("10.20.0.9")))
    assert flow.protos == {"tcp"} and flow.dports == ((22, 22), (29400, 29500))
    assert flow.states == {"new"} and flow.admits_new
    est = by_text["ct state established,related accept"]
    assert not est.admits_new
    assert by_text["meta iifname lo accept"].loopback
    neg = by_text["ip saddr != 10.0.0.0/8 udp dport 53 accept"]
    assert iv.meets(neg.saddr or (), ((ip("8.8.8.8"), ip("8.8.8.8")),))
    assert not iv.meets(neg.saddr or (), ((ip("10.1.2.3"), ip("10.1.2.3")),))
    v6 = by_text["ip6 saddr ::1 tcp dport 80 accept"]
    assert v6.saddr is None and v6.unknown == ("ip6 saddr",)  # widened, never guessed
    th = by_text["meta l4proto { tcp, udp } th dport 1000-2000 accept"]
    assert th.protos == {"tcp", "udp"} and th.can_match("udp", 1500)
    assert by_text["jump side"].verdict == "jump"


def test_parse_rejects_non_json() -> None:
    with pytest.raises(NftParseError):
        parse_nft_json("table inet x {}")
    with pytest.raises(NftParseError):
        parse_nft_json('{"other": []}')


# -- proofs on rulesets nft parsed back --------------------------------------------------------

@pytest.fixture(scope="module")
def rendered(phase1_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fw")
    write_files(out, render(phase1_plan, ["plan", "firewall"]))
    return out


@needs_nft
def test_shipped_rulesets_hold_every_property(phase1_plan: Plan, rendered: Path) -> None:
    rep = verify_firewall(phase1_plan, rendered / "firewall")
    assert rep.passed, "\n".join(map(str, rep.findings))
    assert set(rep.results) == set(PROPERTIES)
    assert len(rep.rulesets) == 7 and rep.rules > 50


# (case, ruleset, chain, rule inserted (or "s/old/new" edit), property that must fail)
TAMPER = [
    ("ssh-from-anywhere", "gpu-node", "input", 'tcp dport 22 accept comment "tamper"',
     ["ssh-only-from-bastion", "no-internet-inbound", "production-only-to-ingest"]),
    ("ct-state-new", "gpu-node", "input", 'ct state new accept comment "tamper"',
     ["no-internet-inbound", "production-only-to-ingest", "ssh-only-from-bastion"]),
    ("negated-source", "storage", "input",
     'ip saddr != 10.16.0.0/16 tcp dport 2049 accept comment "tamper"',
     ["no-internet-inbound", "production-only-to-ingest"]),
    ("production-to-compute", "gpu-node", "input",
     'ip saddr 10.128.0.0/10 tcp dport 443 accept comment "tamper"',
     ["production-only-to-ingest"]),
    ("ingest-undeclared-port", "ingest-gateway", "input",
     'ip saddr @zone_production tcp dport 8443 accept comment "tamper"',
     ["production-only-to-ingest"]),
    ("compute-to-internet", "gpu-node", "output",
     'tcp dport 443 accept comment "tamper"', ["no-outbound", "bmc-only-from-management"]),
    ("ingest-to-production", "ingest-gateway", "output",
     'ip daddr 10.128.0.0/10 tcp dport 443 accept comment "tamper"', ["no-outbound"]),
    ("bmc-from-inband", "bmc", "input",
     'ip saddr 10.16.0.0/16 udp dport 623 accept comment "tamper"',
     ["bmc-only-from-management"]),
    ("compute-opens-bmc", "gpu-node", "output",
     'ip daddr 10.17.0.0/16 tcp dport 443 accept comment "tamper"',
     ["bmc-only-from-management"]),
    ("ssh-from-management", "gpu-node", "input",
     'ip saddr @zone_management tcp dport 22 accept comment "tamper"',
     ["ssh-only-from-bastion"]),
    ("border-forwards-internet", "border", "forward",
     'tcp dport 443 accept comment "tamper"',
     ["no-internet-inbound", "no-outbound", "production-only-to-ingest",
      "bmc-only-from-management"]),
    ("border-lets-cluster-out", "border", "forward",
     'ip saddr 10.16.0.0/16 ip daddr 198.18.0.0/15 accept comment "tamper"', ["no-outbound"]),
    ("policy-accept", "bastion", "input", "s/policy drop;/policy accept;/", ["default-drop"]),
    ("bastion-ssh-removed", "gpu-node", "input", "d/flow ssh: bastion -> compute",
     ["declared-flows-open"]),
    ("bmc-path-removed", "management-host", "output", "d/flow bmc-redfish",
     ["declared-flows-open"]),
    ("ssh-shadowed-by-drop", "gpu-node", "input", 'top:tcp dport 22 drop comment "tamper"',
     ["declared-flows-open"]),
    ("ingest-not-forwarded", "border", "forward", "d/flow ingest-upload",
     ["declared-flows-open"]),
]


def tampered(text: str, name: str, chain: str, edit: str) -> str:
    """s/OLD/NEW/: replace; d/TEXT: delete the rule holding TEXT; top:RULE: insert RULE first
    in the chain (after the connection-state rules); RULE: insert it last, before the log."""
    lines = text.splitlines(keepends=True)
    if edit.startswith("s/"):
        _, old, new, _ = edit.split("/")
        return text.replace(old, new, 1)
    if edit.startswith("d/"):
        kept = [line for line in lines if edit[2:] not in line]
        assert len(kept) == len(lines) - 1, edit
        return "".join(kept)
    if edit.startswith("top:"):
        start = next(i for i, line in enumerate(lines) if f"chain {chain} {{" in line)
        at = next(i for i in range(start, len(lines)) if "ct state invalid drop" in lines[i]) + 1
        edit = edit[4:]
    else:
        at = next(i for i, line in enumerate(lines) if f' {name} {chain}: "' in line)
    return "".join([*lines[:at], f"\t\t{edit}\n", *lines[at:]])


@pytest.fixture(scope="module")
def clean_capture(rendered: Path) -> dict[str, str]:
    return capture({p.stem: p for p in sorted((rendered / "firewall").glob("*.nft"))})


@needs_nft
@pytest.mark.parametrize(("case", "name", "chain", "edit", "props"), TAMPER,
                         ids=[t[0] for t in TAMPER])
def test_tampered_rule_is_named(
    case: str, name: str, chain: str, edit: str, props: list[str],
    phase1_plan: Plan, rendered: Path, clean_capture: dict[str, str], tmp_path: Path,
) -> None:
    path = tmp_path / f"{name}.nft"
    path.write_text(tampered((rendered / "firewall" / path.name).read_text(), name, chain, edit))
    rep = report(resolve_zones(phase1_plan), {**clean_capture, **capture({name: path})})
    failed = {p for p, f in rep.results.items() if f}
    assert failed == set(props), f"{case}: {failed} != {props}"
    for prop in props:
        for f in rep.results[prop]:
            assert f.devices == (f"{name}.nft",)
            named = edit[2:].split(":")[0] if edit.startswith("d/") else "tamper"
            assert named in f.message or "policy accept" in f.message, f.message


@needs_nft
def test_missing_ruleset_fails(phase1_plan: Plan, clean_capture: dict[str, str]) -> None:
    rest = {k: v for k, v in clean_capture.items() if k != "storage"}
    rep = report(resolve_zones(phase1_plan), rest)
    assert [f.message for f in rep.results["default-drop"]] == [
        "storage.nft is missing: its hosts would run without a firewall"]


# -- the command: exit codes 0, 1, 2 ---------------------------------------------------------

@needs_nft
def test_cli_exit_codes(rendered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["verify", "firewall", "phase1", "--out", str(rendered)]) == 0
    assert "holds" in capsys.readouterr().out
    bad = tmp_path / "bad"
    shutil.copytree(rendered / "firewall", bad)
    gpu = bad / "gpu-node.nft"
    gpu.write_text(tampered(gpu.read_text(), "gpu-node", "input",
                            'tcp dport 22 accept comment "tamper"'))
    assert main(["verify", "firewall", "phase1", "--out", str(rendered),
                 "--rulesets", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "ssh-only-from-bastion" in err and "gpu-node.nft" in err and "tamper" in err
    assert main(["verify", "firewall", "phase1", "--out", str(tmp_path / "none")]) == 2
    assert "rscctl plan" in capsys.readouterr().err
    gpu.write_text("table inet rscctl { chain input { nonsense } }\n")
    assert main(["verify", "firewall", "phase1", "--out", str(rendered),
                 "--rulesets", str(bad)]) == 2
    assert "nft refused" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["verify", "firewall", "phase1", "--out", str(rendered)]) == 2
    assert "nft is not installed" in capsys.readouterr().err


def test_missing_tool_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingTool, match="apt-get install nftables"):
        capture({"x": tmp_path / "x.nft"})


def test_unprivileged_uses_a_user_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    from rscctl.verify import firewall as vf
    if not shutil.which("nft") or not shutil.which("unshare"):
        pytest.skip("needs nft and unshare")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert vf._tools()[1:] == ["--user", "--map-root-user", "--net"]


# -- any valid policy renders rulesets that hold every property ----------------------------

ZONES_IN = ["management", "bastion", "compute", "ingest", "storage", "oob"]
REQUIRED = [
    {"name": "operator-ssh", "from": ["management"], "to": ["bastion"], "proto": "tcp",
     "ports": [22]},
    {"name": "ssh", "from": ["bastion"], "to": ["management", "compute", "ingest", "storage"],
     "proto": "tcp", "ports": [22]},
    {"name": "bmc", "from": ["management"], "to": ["oob"], "proto": "udp", "ports": [623]},
]
port_item = st.one_of(
    st.integers(1, 65535),
    st.tuples(st.integers(1, 65000), st.integers(0, 500)).map(lambda t: f"{t[0]}-{t[0] + t[1]}"),
)
flow_st = st.fixed_dictionaries({
    "from": st.lists(st.sampled_from([*ZONES_IN, "production"]), min_size=1, max_size=3,
                     unique=True),
    "to": st.lists(st.sampled_from(ZONES_IN), min_size=1, max_size=3, unique=True),
    "proto": st.sampled_from(["tcp", "udp"]),
    "ports": st.lists(port_item, min_size=1, max_size=3),
})


@needs_nft
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
@given(st.lists(flow_st, min_size=1, max_size=6))
# found by hypothesis: a repeated port and overlapping ranges (nft refuses such a set)
@example(flows=[{"from": ["compute"], "to": ["compute"], "proto": "tcp",
                 "ports": [1, 1, "5-9", "7-12"]}])
def test_any_valid_policy_renders_provably_isolated_rulesets(
    phase1_plan: Plan, tmp_path: Path, flows: list[dict[str, object]],
) -> None:
    from rscctl.declare.policy import Policy

    fw = phase1_plan.facts.firewall
    assert fw is not None
    doc = fw.policy.model_dump(mode="json", by_alias=True)
    doc["flows"] = [*REQUIRED, *({**f, "name": f"f{i}"} for i, f in enumerate(flows))]
    try:
        policy = Policy.model_validate(doc)
    except ValidationError:
        assume(False)
        return
    plan = replace(phase1_plan, facts=replace(phase1_plan.facts,
                                              firewall=replace(fw, policy=policy)))
    paths = {}
    for name, text in render_rulesets(plan).items():
        paths[name] = tmp_path / f"{name}.nft"
        paths[name].write_text(text)
    rep = report(resolve_zones(plan), capture(paths))
    assert rep.passed, "\n".join(map(str, rep.findings))


@needs_nft
def test_captured_json_needs_no_nft(phase1_plan: Plan, clean_capture: dict[str, str],
                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rulesets captured as `nft -j list ruleset` (e.g. from live hosts) are proved as is."""
    for name, text in clean_capture.items():
        (tmp_path / f"{name}.json").write_text(text)
    monkeypatch.setenv("PATH", str(tmp_path))  # no nft, no unshare
    rep = verify_firewall(phase1_plan, tmp_path)
    assert rep.passed and len(rep.rulesets) == 7
