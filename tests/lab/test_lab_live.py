"""A running lab: SSH with verified host keys, Ansible through ansible-runner, isolation of
each node's filesystem and network, and refusal of a changed host key."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import ansible_runner
import pytest
from typer.testing import CliRunner

from rscctl.cli import app, main
from rscctl.lab.lifecycle import engine
from rscctl.lab.state import LabState
from tests.lab.fixtures import needs_lab

pytestmark = [pytest.mark.lab, needs_lab]


def ssh(lab: LabState, host: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ssh", "-F", str(lab.path("ssh_config")), host, command],
                          capture_output=True, text=True, timeout=60, check=False)


def hosts_of(lab: LabState) -> list[str]:
    assert lab.layout is not None
    return [h.name for h in lab.layout.hosts]


def test_every_host_answers_over_ssh_as_itself(lab: LabState) -> None:
    assert lab.layout is not None
    for h in lab.layout.hosts:
        res = ssh(lab, h.name, "hostname; ip -4 -o addr show dev eth0")
        assert res.returncode == 0, res.stderr
        name, addr = res.stdout.splitlines()
        assert name == h.name
        assert f" {h.address}/{h.prefix_len} " in addr


def test_status_lists_every_host_running(lab: LabState) -> None:
    res = CliRunner().invoke(app, ["lab", "status", "--state-dir", str(lab.state_dir)])
    assert res.exit_code == 0, res.output
    for name in hosts_of(lab):
        assert name in res.output


def test_second_up_is_refused(lab: LabState, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "up", "lab", "--state-dir", str(lab.state_dir)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "lab down" in err and "Traceback" not in err


def test_nodes_have_their_own_root_and_network(lab: LabState) -> None:
    """A file and an nft table made on one node exist on no other node, nor on the host."""
    one = ssh(lab, "dgx0001", "echo lab-only | sudo tee /etc/nftables.conf >/dev/null && "
              "sudo nft add table inet labprobe && sudo nft list tables")
    assert one.returncode == 0, one.stderr
    assert "labprobe" in one.stdout
    other = ssh(lab, "dgx0002", "cat /etc/nftables.conf; sudo nft list tables")
    assert other.returncode == 0, other.stderr
    assert "lab-only" not in other.stdout and "labprobe" not in other.stdout
    assert not Path("/etc/nftables.conf").is_file() or \
        "lab-only" not in Path("/etc/nftables.conf").read_text()
    host = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False)
    assert "labprobe" not in host.stdout
    ssh(lab, "dgx0001", "sudo nft delete table inet labprobe")


def test_zone_hosts_reach_the_nodes_on_one_segment(lab: LabState) -> None:
    """The internet host reaches the sshd of a node that loads no ruleset (the storage system):
    one segment joins every host, so only the firewalls decide what passes."""
    assert lab.layout is not None
    node = next(h for h in lab.layout.hosts if h.role == "storage-system")
    probe = (f"import socket; socket.create_connection(('{node.address}', 22), 3); "
             "print('open')")
    res = ssh(lab, "internet", f'python3 -c "{probe}"')
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "open"


def run_ansible(lab: LabState, tmp_path: Path, module: str, args: str = "",
                pattern: str = "all") -> ansible_runner.Runner:
    private = tmp_path / f"runner-{module}-{pattern}"
    private.mkdir(parents=True)
    env = {
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path / "ansible-cp"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    return ansible_runner.run(
        private_data_dir=str(private), inventory=str(lab.path("inventory.yml")),
        host_pattern=pattern, module=module, module_args=args, envvars=env, quiet=True,
        forks=16, timeout=180,
    )


def test_ansible_runner_reaches_every_host(lab: LabState, tmp_path: Path) -> None:
    """ansible-runner over SSH, host keys checked: ping, then a command with become."""
    ping = run_ansible(lab, tmp_path, "ping")
    assert ping.status == "successful", ping.stdout.read()
    assert set(ping.stats["ok"]) == set(hosts_of(lab))
    cmd = run_ansible(lab, tmp_path, "command", "id -un", pattern="gpu_node")
    assert cmd.status == "successful", cmd.stdout.read()
    outs = {e["event_data"]["host"]: e["event_data"]["res"]["stdout"] for e in cmd.events
            if e.get("event") == "runner_on_ok"}
    assert len(outs) == 8 and set(outs.values()) == {"rscctl"}


def test_changed_host_key_is_refused(lab: LabState, tmp_path: Path) -> None:
    """A node whose host key changes is refused by ssh and by Ansible, then accepted again."""
    podman = engine(lab.state_dir)
    node = lab.netns_of("dgx0003")
    key = "/etc/ssh/ssh_host_ed25519_key"
    podman("exec", node, "sh", "-c",
           f"cp {key} /root/k && cp {key}.pub /root/k.pub && rm {key} {key}.pub && "
           f"ssh-keygen -q -t ed25519 -N '' -f {key} && kill -HUP 1")
    try:
        res = ssh(lab, "dgx0003", "true")
        assert res.returncode == 255
        assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in res.stderr
        run = run_ansible(lab, tmp_path, "ping", pattern="dgx0003")
        assert run.status == "failed" and "dgx0003" in run.stats["dark"]
    finally:
        podman("exec", node, "sh", "-c",
               f"cp /root/k {key} && cp /root/k.pub {key}.pub && kill -HUP 1")
    for _ in range(30):  # sshd re-executes itself on SIGHUP: a moment without a listener
        back = ssh(lab, "dgx0003", "true")
        if back.returncode == 0:
            break
        time.sleep(0.1)
    assert back.returncode == 0, back.stderr


def test_trust_for_vms_scans_directly_and_through_the_bastion(lab: LabState,
                                                               tmp_path: Path) -> None:
    """`lab trust` (the Vagrant path, no namespaces of its own) run where the VMs' controller
    stands, at mgmt01's address (its namespace): the bastion scanned directly, the hosts the
    policy lets only the bastion reach scanned and reached through it, the same keys as `up`
    collected; works with the plan's firewall loaded or not."""
    rscctl = str(Path(sys.executable).parent / "rscctl")
    vms = tmp_path / "vms"
    vms.mkdir()
    for name in ("id_ed25519", "id_ed25519.pub"):  # the Vagrantfile installs this key pair
        shutil.copy2(lab.path(name), vms / name)
    here = ["ip", "netns", "exec", lab.netns_of("mgmt01")]
    only = ["bastion01", "dgx0001", "ingest01"]
    out = tmp_path / "out"
    assert main(["plan", "lab", "--out", str(out)]) == 0
    res = subprocess.run([*here, rscctl, "lab", "trust", "lab", *only, "--state-dir", str(vms),
                          "--out", str(out)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert sorted((vms / "known_hosts").read_text().splitlines()) == sorted(
        line for line in lab.path("known_hosts").read_text().splitlines()
        if line.split(",", 1)[0] in only)
    cfg = (vms / "ssh_config").read_text()
    assert not [ln for ln in cfg.splitlines() if ln.strip().startswith("ProxyCommand")]
    assert cfg.count("ProxyJump bastion01") == 2  # dgx0001 and ingest01, not the bastion
    hop = subprocess.run([*here, "ssh", "-F", str(vms / "ssh_config"), "dgx0001", "hostname"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert hop.returncode == 0, hop.stderr
    assert hop.stdout.strip() == "dgx0001"
