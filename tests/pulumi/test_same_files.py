"""The Pulumi path pushes the Ansible path's bytes: dgx0001's templated files rendered by
Ansible (the roles' defaults, templates and the collection's filter, Ansible's templar)
equal nodefiles' rendering of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rscctl.apply.inventory import load as derive
from rscctl.apply.nodefiles import NodeRenderer
from tests.pulumi.mockstack import ROOT


def test_ansible_renders_the_same_bytes(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    plan_dir, secrets, out = tmp_path / "lab", tmp_path / "secrets", tmp_path / "ansible"
    out.mkdir()
    subprocess.run([str(bin_dir / "rscctl"), "plan", "lab", "--out", str(plan_dir)],
                   check=True, capture_output=True, cwd=ROOT)
    subprocess.run([str(bin_dir / "rscctl"), "pki", "lab", "--out", str(plan_dir),
                    "--secrets", str(secrets)], check=True, capture_output=True, cwd=ROOT)
    inv = tmp_path / "lab.rsc.yml"
    inv.write_text(f"plugin: rsc.cluster.plan\nplan: {plan_dir / 'plan.json'}\n")
    res = subprocess.run(
        [str(bin_dir / "ansible-playbook"), "-i", str(inv),
         str(ROOT / "tests" / "pulumi" / "render_like_roles.yml"), "-e", "target=dgx0001",
         "-e", f"repo={ROOT}", "-e", f"out={out}"],
        capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
             "ANSIBLE_HOME": str(tmp_path / "ansible-home")})
    assert res.returncode == 0, res.stdout[-2000:]
    data = derive(plan_dir / "plan.json").as_dict()
    assert data["vars"]["rsc_mirrors"]["apt"]  # the lab declares its mirror
    ours = {f.dest: f.content for f in NodeRenderer(data, secrets).files("dgx0001")}
    theirs = {p.name: p.read_text() for p in out.iterdir()}
    assert len(theirs) == 11  # chrony, mirror, tlshd.conf, 8 IPoIB units
    for name, text in theirs.items():
        dest = next(d for d in ours if d.replace("/", "_") == name)
        assert ours[dest] == text, dest
