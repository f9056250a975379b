"""verify routing: shift permutations traced through the forwarding tables OpenSM ftree wrote
into ibsim's switches (read back with dump_fts, and from OpenSM's own LFT dump format)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rscctl.declare import load_build
from rscctl.export.ibfabric import ib_fabric
from rscctl.export.ibtopo import export_fabric
from rscctl.outputs import write_files
from rscctl.planner import build_plan
from rscctl.planner.model import Plan
from rscctl.verify.cabling import verify_cabling
from rscctl.verify.ibnetdiscover import read_discovered
from rscctl.verify.routing import LftFileError, read_lfts, shift_loads
from tests.fabric.faults import Rewire
from tests.ibsim_harness import ibsim, need_ib_tools


@pytest.fixture(scope="module")
def plan() -> Plan:
    """The lab build: 2 SUs of 4 DGX, QM8790 leaves and spines, 2 links per leaf and spine."""
    return build_plan(load_build("lab"), check=False)


def _routed(plan: Plan, tmp: Path) -> tuple[str, str, str]:
    """(ibnetdiscover after routing, dump_fts, OpenSM log) of `plan`'s fabric in ibsim."""
    write_files(tmp, export_fabric(plan))
    out = tmp / "fabric"
    with ibsim(out / "compute.topo", ib_fabric(plan).limits(), tmp) as sim:
        log = sim.opensm_ftree(out / "roots.guids", out / "cn.guids")
        topo = sim.ibnetdiscover()
        fts = sim.run("dump_fts")
    assert fts.returncode == 0, fts.stderr
    return topo, fts.stdout, log


def test_planned_fabric_gives_load_1(plan: Plan, tmp_path: Path) -> None:
    need_ib_tools()
    topo, fts, log = _routed(plan, tmp_path)
    assert "ftree tables configured on all switches" in log and "ERR AB" not in log
    rep = shift_loads(plan, read_discovered(topo, "t"), read_lfts(fts, "fts"))
    assert rep.problems == []
    assert rep.nodes == 8 and len(rep.rails) == 8
    assert rep.flows == 7 * 8 * 8  # every shift k = 1..7, every node, every rail
    assert rep.worst == 1 and set(rep.per_shift.values()) == {1}, (rep.rails, rep.per_shift)


@pytest.mark.parametrize("one, two, fix", [
    # two HCAs of different nodes exchanged between the rail-1 and rail-2 leaves
    ("C1-S001-N01-R1", "C1-S001-N02-R2", "swap the cables at leaf-s001-r1:1 and "
     "leaf-s001-r2:2"),
    # an uplink of leaf r1 to spine01 exchanged with one of leaf r2 to spine02
    ("C2-S001-R1-SP01-L1", "C2-S001-R2-SP02-L1", "swap the cables at spine01:1 and spine02:3"),
])
def test_a_swap_ftree_accepts_raises_the_load(plan: Plan, tmp_path: Path, one: str, two: str,
                                              fix: str) -> None:
    """ftree routes the miswired fabric without a word; shift traffic of two flows now shares
    a link (load 2); verify cabling names the swap."""
    need_ib_tools()
    w = Rewire(plan)
    w.swap_b(one, two)
    topo, fts, log = _routed(w.plan_now(), tmp_path)
    assert "ftree tables configured on all switches" in log and "ERR AB" not in log
    found = read_discovered(topo, "t")
    rep = shift_loads(plan, found, read_lfts(fts, "fts"))
    assert rep.problems == []
    assert rep.worst == 2, rep.per_shift
    findings = verify_cabling(plan, found).findings
    assert [(f.kind, f.fix) for f in findings] == [("swapped", fix)]


def test_opensm_lft_dump_format_reads_the_same() -> None:
    osm = ("Unicast lids [0-3] of switch Lid 1 guid 0x022fcf3f1106ce00 ('leaf-s001-r1'):\n"
           "0x0001 000 # Switch portguid 0x022fcf3f1106ce00: 'leaf-s001-r1'\n"
           "0x0002 008 # Channel Adapter portguid 0x027aba4f7ac85001: 'dgx0008 mlx5_2'\n"
           "0x0003 UNREACHABLE\n"
           "3 lids dumped\n")
    fts = ("Unicast lids [0x0-0x3] of switch DR path slid 0; dlid 0; 0 guid 0x022fcf3f1106ce00"
           " (leaf-s001-r1):\n  Lid  Out   Destination\n       Port     Info \n"
           "0x0001 000 : (Switch portguid 0x022fcf3f1106ce00: 'leaf-s001-r1')\n"
           "0x0002 008 : (Channel Adapter portguid 0x027aba4f7ac85001: 'dgx0008 mlx5_2')\n"
           "2 valid lids dumped \n")
    assert read_lfts(osm, "a") == read_lfts(fts, "b") == {0x022fcf3f1106ce00: {1: 0, 2: 8}}
    with pytest.raises(LftFileError, match=r"^x:1: .* not a line of a forwarding table"):
        read_lfts("cable_id,fabric\n", "x")
    with pytest.raises(LftFileError, match="no 'Unicast lids"):
        read_lfts("", "x")
