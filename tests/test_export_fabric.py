"""fabric/ exporter: read back by ibsim + ibnetdiscover, OpenSM ftree, ibdm; pure checks too."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from rscctl.declare import load_build
from rscctl.errors import UserError
from rscctl.export import EXPORTERS
from rscctl.export.ibfabric import ib_fabric
from rscctl.export.ibtopo import CVT_COLUMNS, export_fabric
from rscctl.outputs import write_files
from rscctl.planjson import generate_plan_json, parse_plan_json
from rscctl.planner import build_plan
from rscctl.planner.model import Plan
from rscctl.verify.ibnetdiscover import compare_links, parse_ibnetdiscover
from tests.conftest import small_build_dict, write_build
from tests.ibsim_harness import ibsim, need_ib_tools


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    d = tmp_path_factory.mktemp("small")
    return build_plan(load_build(str(write_build(d, small_build_dict()))))


@pytest.fixture(scope="module")
def small_out(small_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small-out")
    write_files(out, export_fabric(small_plan))
    return out / "fabric"


def _ends(plan: Plan) -> set[tuple[tuple[str, int], tuple[str, int]]]:
    return ib_fabric(plan).link_ends()


# -- pure checks ------------------------------------------------------------------------------

def test_registered_and_deterministic(small_plan: Plan) -> None:
    assert EXPORTERS["fabric"] is export_fabric
    again = parse_plan_json(generate_plan_json(small_plan))
    assert export_fabric(small_plan) == export_fabric(again)


def test_topo_holds_every_cable_and_director_internals(small_plan: Plan) -> None:
    fab = ib_fabric(small_plan)
    topo = parse_ibnetdiscover(export_fabric(small_plan)["fabric/compute.topo"].decode())
    assert topo.links() == fab.link_ends()
    cables = [c for c in small_plan.cables if c.fabric == "compute"]
    internal = 2 * 40 * 20  # two directors, each leaf ASIC to each spine ASIC once
    assert len(topo.links()) == len(cables) + internal
    assert topo.rates() == {"4xHDR"}
    switches = [n for n in topo.nodes.values() if n.kind == "Switch"]
    assert len(switches) == 16 + 2 * 60
    descs = {n.desc for n in topo.nodes.values()}
    assert "dgx0001 mlx5_0" in descs and "MF0;spine02:MCS8500/S10/U2" in descs


def test_director_front_port_mapping(small_plan: Plan) -> None:
    """L01/P21 is on leaf ASIC L01/U2, ASIC port 1; its uplinks reach every spine ASIC."""
    c = next(c for c in small_plan.cables if c.b_device == "spine01" and c.b_port == "L01/P21")
    topo = parse_ibnetdiscover(export_fabric(small_plan)["fabric/compute.topo"].decode())
    by_desc = {n.desc: n for n in topo.nodes.values()}
    asic = by_desc["MF0;spine01:MCS8500/L01/U2"]
    peer, _, _ = asic.links[1]
    assert topo.desc(peer) == c.a_device
    ups = {topo.desc(asic.links[p][0]) for p in range(21, 41)}
    assert ups == {f"MF0;spine01:MCS8500/S{m:02d}/U{u}" for m in range(1, 11) for u in (1, 2)}


def test_roots_and_cn_guids(small_plan: Plan) -> None:
    files = export_fabric(small_plan)
    fab = ib_fabric(small_plan)
    roots = files["fabric/roots.guids"].decode().split()
    spines = {f"0x{n.guid:016x}" for n in fab.nodes if n.role == "director-spine"}
    assert set(roots) == spines and len(roots) == 2 * 20
    cn = files["fabric/cn.guids"].decode().split()
    hcas = [n for n in fab.nodes if n.kind == "Ca"]
    assert len(cn) == len(set(cn)) == len(hcas) == 8 * 8
    assert set(cn) == {f"0x{n.guid + 1:016x}" for n in hcas}


def test_guids_stable_under_growth(phase1_plan: Plan, phase2_plan: Plan) -> None:
    one = {n.desc: n.guid for n in ib_fabric(phase1_plan).nodes}
    two = {n.desc: n.guid for n in ib_fabric(phase2_plan).nodes}
    assert len(one) == 6080 + 304 + 1200 and len(two) == 16000 + 800 + 1200
    assert all(two[d] == g for d, g in one.items())
    assert len(set(two.values())) == len(two)


def test_declared_guid_is_used(small_plan: Plan) -> None:
    facts = replace(small_plan.facts, guids={"dgx0001 mlx5_0": "0x0c42a10300a1b2c0"})
    topo = export_fabric(replace(small_plan, facts=facts))["fabric/compute.topo"].decode()
    assert 'Ca\t1 "H-0c42a10300a1b2c0"\t\t# "dgx0001 mlx5_0"' in topo


def test_guids_declared_in_the_build(tmp_path: Path) -> None:
    doc = small_build_dict()
    doc["compute"]["guids"] = {"MF0;spine01:MCS8500/S01/U1": "0x0c42a10300a1b2c0"}
    plan = build_plan(load_build(str(write_build(tmp_path, doc))), check=False)
    files = export_fabric(parse_plan_json(generate_plan_json(plan)))
    assert "0x0c42a10300a1b2c0" in files["fabric/roots.guids"].decode().split()


@pytest.mark.parametrize("guid", ["12", "0xZZ", "0x1" + "0" * 16])
def test_bad_guid_is_a_user_error(tmp_path: Path, guid: str) -> None:
    doc = small_build_dict()
    doc["compute"]["guids"] = {"dgx0001 mlx5_0": guid}
    with pytest.raises(UserError, match=r"compute.guids.*is not a GUID; write 64-bit hex"):
        load_build(str(write_build(tmp_path, doc)))


def test_cvt_p2p(small_plan: Plan) -> None:
    files = export_fabric(small_plan)
    rows = list(csv.DictReader(io.StringIO(files["fabric/cvt-p2p.csv"].decode())))
    assert tuple(rows[0]) == CVT_COLUMNS
    cables = [c for c in small_plan.cables if c.fabric == "compute"]
    assert len(rows) == len(cables)
    first = rows[0]
    assert (first["A-Node Name"], first["A-Type"], first["A-Port"]) == ("dgx0001", "Host", "1")
    assert (first["Z-Node Name"], first["Z-Type"], first["Z-Port"]) == ("leaf-s001-r1", "Switch",
                                                                        "1")
    assert {r["Z-Type"] for r in rows} == {"Switch"}
    mapping = files["fabric/cvt-hca-mapping.csv"].decode().splitlines()
    assert mapping[:3] == ["port,hca-name", "1,mlx5_0", "2,mlx5_1"]


# -- real tools ---------------------------------------------------------------------------------

def _discover(out: Path, plan: Plan, tmp: Path) -> None:
    fab = ib_fabric(plan)
    with ibsim(out / "compute.topo", fab.limits(), tmp) as sim:
        found = parse_ibnetdiscover(sim.ibnetdiscover())
    assert found.rates() == {"4xHDR"}
    findings = compare_links(fab.link_cables(), found)
    assert not findings, [str(f) for f in findings[:5]]
    assert found.links() == fab.link_ends()
    cas = [n for n in found.nodes.values() if n.kind == "Ca"]
    cn = set((out / "cn.guids").read_text().split())
    assert {f"0x{g:016x}" for n in cas for g in n.port_guids.values()} == cn


def test_ibsim_discovers_the_planned_links_small(small_plan: Plan, small_out: Path,
                                                 tmp_path: Path) -> None:
    need_ib_tools()
    _discover(small_out, small_plan, tmp_path)


@pytest.mark.slow
def test_ibsim_discovers_the_planned_links_phase1(phase1_plan: Plan, tmp_path: Path) -> None:
    need_ib_tools()
    write_files(tmp_path, export_fabric(phase1_plan))
    _discover(tmp_path / "fabric", phase1_plan, tmp_path)


def test_opensm_ftree_accepts_the_fabric(small_plan: Plan, small_out: Path,
                                         tmp_path: Path) -> None:
    need_ib_tools()
    with ibsim(small_out / "compute.topo", ib_fabric(small_plan).limits(), tmp_path) as sim:
        log = sim.opensm_ftree(small_out / "roots.guids", small_out / "cn.guids")
    assert "ftree tables configured on all switches" in log, log[-3000:]
    assert "ERR AB" not in log


def test_opensm_ftree_catches_an_hca_on_a_spine(small_plan: Plan, tmp_path: Path) -> None:
    """The same check fails when it should: an HCA cabled to a spine ASIC (ERR AB26)."""
    need_ib_tools()
    cables = list(small_plan.cables)
    i = next(i for i, c in enumerate(cables) if c.cable_id.startswith("C1-"))
    j = next(i for i, c in enumerate(cables) if c.cable_id.startswith("C2-"))
    # Swap the leaf end of a node cable with the leaf end of an uplink: the HCA lands on a
    # director, the leaf's uplink on the leaf's own node port.
    a, b = cables[i], cables[j]
    cables[i] = replace(a, b_device=b.b_device, b_port=b.b_port)
    cables[j] = replace(b, b_device=a.b_device, b_port=a.b_port)
    bad = replace(small_plan, cables=tuple(cables))
    write_files(tmp_path, export_fabric(bad))
    out = tmp_path / "fabric"
    with ibsim(out / "compute.topo", ib_fabric(bad).limits(), tmp_path) as sim:
        log = sim.opensm_ftree(out / "roots.guids", out / "cn.guids")
    assert "ERR AB26" in log and "ftree tables configured" not in log, log[-3000:]


def test_ibdm_reads_the_ibdiag_topology(small_plan: Plan, small_out: Path) -> None:
    """ibutils' ibdm (the parser of `ibdiagnet -t`) loads the topology file with our IBNL
    definitions and traces a path across a director, plug by plug, as the plan cables it."""
    if shutil.which("ibdmtr") is None:
        pytest.skip("ibdmtr not installed (apt-get install ibutils)")
    res = subprocess.run(
        ["ibdmtr", "-t", "compute.ibdiag.topo", "-s", "dgx0001/U1", "-p", "1",
         "-d", "0,1,5,21,2,1,1"],
        cwd=small_out, env={"IBDM_IBNL_PATH": str(small_out / "ibnl"), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert res.returncode == 0 and "-E-" not in res.stdout, res.stdout[-2000:]
    assert "Defined 26/200 systems/nodes" in res.stdout
    # The path: dgx0001 mlx5_0 -> its leaf, first uplink -> spine01 L01/P01 (ASIC L01/U1),
    # up to S01/U1, down to L01/U2, out of L01/P21 to the leaf cabled there, down its port 1.
    up = next(c for c in small_plan.cables if c.b_device == "spine01" and c.b_port == "L01/P21")
    down = next(c for c in small_plan.cables
                if c.b_device == up.a_device and c.b_port == "1")
    assert f"TO   Host:{up.a_device} Plug:P{up.a_port}" in res.stdout
    assert f"TO   Host:{down.a_device} Plug:{down.a_port}" in res.stdout


def test_lab_build_with_switch_spines(tmp_path: Path) -> None:
    """topology/lab.yaml has QM8790 spines: each is its own root; ibsim and ftree agree."""
    need_ib_tools()
    plan = build_plan(load_build("lab"), check=False)
    write_files(tmp_path, export_fabric(plan))
    out, fab = tmp_path / "fabric", ib_fabric(plan)
    assert [fab.nodes[i].desc for i in fab.roots] == ["spine01", "spine02"]
    with ibsim(out / "compute.topo", fab.limits(), tmp_path) as sim:
        assert parse_ibnetdiscover(sim.ibnetdiscover()).links() == fab.link_ends()
        log = sim.opensm_ftree(out / "roots.guids", out / "cn.guids")
    assert "ftree tables configured on all switches" in log and "ERR AB" not in log


def test_rail_swap_passes_ftree_but_not_the_comparison(small_plan: Plan, tmp_path: Path) -> None:
    """Two HCAs of a node swapped between rails: OpenSM ftree is content, compare_links names
    both cables and where their ends really go."""
    need_ib_tools()
    cables = list(small_plan.cables)
    i = next(i for i, c in enumerate(cables) if c.cable_id == "C1-S001-N01-R1")
    j = next(i for i, c in enumerate(cables) if c.cable_id == "C1-S001-N01-R2")
    a, b = cables[i], cables[j]
    cables[i] = replace(a, a_port=b.a_port)
    cables[j] = replace(b, a_port=a.a_port)
    swapped = replace(small_plan, cables=tuple(cables))
    write_files(tmp_path, export_fabric(swapped))
    out = tmp_path / "fabric"
    with ibsim(out / "compute.topo", ib_fabric(swapped).limits(), tmp_path) as sim:
        found = parse_ibnetdiscover(sim.ibnetdiscover())
        log = sim.opensm_ftree(out / "roots.guids", out / "cn.guids")
    assert "ftree tables configured on all switches" in log and "ERR AB" not in log
    findings = compare_links(ib_fabric(small_plan).link_cables(), found)
    assert len(findings) == 4
    missing = [f.message for f in findings if f.message.startswith("cable ")]
    assert [m.split()[1] for m in missing] == ["C1-S001-N01-R1", "C1-S001-N01-R2"]
    assert "dgx0001 mlx5_0[1] goes to leaf-s001-r2[1]" in missing[0]
    assert compare_links(ib_fabric(small_plan).link_cables(),
                         parse_ibnetdiscover((out / "compute.topo").read_text())) == findings
