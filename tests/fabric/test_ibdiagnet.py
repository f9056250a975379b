"""`ibdiagnet -t fabric/compute.ibdiag.topo`, run exactly as the README says.

ibdiagnet (ibutils 1.5.7) sets IBDM_IBNL_PATH to OUT_DIR/ibdiag_ibnl itself before it parses
the topology (ibdebug_if.tcl), so a value from the environment is ignored and our box types
are unknown ("Fail to find definition for system:DGX_A100"). The IBNL files must be in
OUT_DIR/ibdiag_ibnl, OUT_DIR being ibdiagnet's -o directory. Run against ibsim (umad2sim), the
topology is parsed and every system defined; ibis 1.5.7 then crashes (SIGSEGV) in its own
discovery under the simulator, after the part this test is about.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rscctl.declare import load_build
from rscctl.export.ibfabric import ib_fabric
from rscctl.export.ibtopo import export_fabric
from rscctl.outputs import write_files
from rscctl.planner import build_plan
from tests.conftest import small_build_dict, write_build
from tests.ibsim_harness import ibsim, need_ib_tools


def _ibdiagnet(env: dict[str, str], out: Path, topo: Path) -> str:
    res = subprocess.run(["ibsim-run", "ibdiagnet", "-o", str(out), "-t", str(topo)],
                         env=env, capture_output=True, text=True, timeout=120, check=False,
                         cwd=out.parent)
    return res.stdout + res.stderr


def test_ibdiagnet_reads_the_topology_as_documented(tmp_path: Path) -> None:
    need_ib_tools()
    if shutil.which("ibdiagnet") is None:
        pytest.skip("ibdiagnet not installed (apt-get install ibutils)")
    plan = build_plan(load_build(str(write_build(tmp_path, small_build_dict()))), check=False)
    write_files(tmp_path / "o", export_fabric(plan))
    fabric = tmp_path / "o" / "fabric"
    with ibsim(fabric / "compute.topo", ib_fabric(plan).limits(), tmp_path) as sim:
        first_ca = next(line.split('"')[1] for line in
                        (fabric / "compute.topo").read_text().splitlines()
                        if line.startswith("Ca"))
        env = {**sim.env, "SIM_HOST": first_ca}  # the local port on an HCA, as on a host
        # IBDM_IBNL_PATH alone: ignored
        ignored = _ibdiagnet({**env, "IBDM_IBNL_PATH": str(fabric / "ibnl")},
                             tmp_path / "diag-env", fabric / "compute.ibdiag.topo")
        assert "Fail to find definition for system:DGX_A100" in ignored, ignored[-2000:]
        # The README's way: the IBNL files in OUT/ibdiag_ibnl, then ibdiagnet -o OUT -t ...
        out = tmp_path / "diag"
        (out / "ibdiag_ibnl").mkdir(parents=True)
        for f in (fabric / "ibnl").glob("*.ibnl"):
            shutil.copy(f, out / "ibdiag_ibnl")
        text = _ibdiagnet(env, out, fabric / "compute.ibdiag.topo")
    parsed = text.split("-I- Using port", 1)[0]
    # 8 DGX + 16 leaves + 2 directors; 64 HCAs + 16 leaves + 2 x 60 director ASICs
    assert "-I- Defined 26/200 systems/nodes" in parsed, text[-2000:]
    assert "-E-" not in parsed, text[-2000:]
    assert os.path.exists(out / "ibdiagnet.log")
