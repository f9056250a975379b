"""NFS over TLS identities: certificates chain to the cluster CA, a real mutual-TLS handshake
on loopback, a foreign CA refused, keys kept across runs, files 0600; the tlshd config and
the mount units rendered from their templates."""

from __future__ import annotations

import configparser
import csv
import io
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from rscctl.cli import main
from rscctl.declare import load_build
from rscctl.errors import UserError
from rscctl.export import render
from rscctl.export.nfs import mounts, systemd_escape_path
from rscctl.outputs import write_files
from rscctl.pki import SecretsStore, chains_to, check_location, identities
from rscctl.planner import build_plan
from rscctl.planner.model import Plan
from tests.ansiblehelp import ansible_env
from tests.conftest import ROOT, write_build
from tests.netbuild import net_build_dict


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    path = write_build(tmp_path_factory.mktemp("pki"), net_build_dict(name="pkilab"))
    return build_plan(load_build(str(path)))


def _make(root: Path, plan: Plan, **kw: bool) -> SecretsStore:
    store = SecretsStore(root)
    store.ensure(plan.build, identities(plan), ca_days=365, cert_days=90, **kw)
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, plan: Plan) -> SecretsStore:
    return _make(tmp_path_factory.mktemp("secrets") / "pkilab", plan)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_one_certificate_per_node_chaining_to_the_ca(plan: Plan, store: SecretsStore) -> None:
    ca = _cert(store.ca_cert_path)
    idents = identities(plan)
    roles = {d.name: d.role for d in plan.devices}
    assert {roles[i.name] for i in idents} == {"gpu-node", "storage-system", "ingest-gateway"}
    for ident in idents:
        cert = _cert(store.cert_path(ident.name))
        assert chains_to(cert, ca), ident.name
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert ident.name in sans.get_values_for_type(x509.DNSName)
        assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == set(ident.ips)
    dgx = next(i for i in idents if i.name == "dgx0001")
    assert "dgx0001.lab.internal" in dgx.dns and "10.16.1.10" in dgx.ips
    assert "10.17.1.10" not in dgx.ips, "the BMC's address is another machine's"


def test_every_secret_file_is_0600_and_dirs_0700(store: SecretsStore) -> None:
    for path in [store.root, *store.root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path


def _contexts(store: SecretsStore, server: str, client: str, client_store: SecretsStore | None
              = None) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cs = client_store or store
    srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.minimum_version = ssl.TLSVersion.TLSv1_3
    srv.load_cert_chain(store.cert_path(server), store.key_path(server))
    srv.load_verify_locations(store.ca_cert_path)
    srv.verify_mode = ssl.CERT_REQUIRED
    cli = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cli.minimum_version = ssl.TLSVersion.TLSv1_3
    cli.load_cert_chain(cs.cert_path(client), cs.key_path(client))
    cli.load_verify_locations(store.ca_cert_path)
    return srv, cli


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sock.settimeout(30)
    yield sock
    sock.close()


def _serve(sock: socket.socket, ctx: ssl.SSLContext, result: dict[str, object]) -> None:
    conn, _ = sock.accept()
    try:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            peer = tls.getpeercert()
            result["peer"] = dict(x[0] for x in peer["subject"]) if peer else None
            result["data"] = tls.recv(4)
            tls.sendall(b"pong")
    except (ssl.SSLError, OSError) as exc:
        result["error"] = exc
        conn.close()


def test_mutual_tls_handshake_between_two_nodes(listener: socket.socket, plan: Plan,
                                                store: SecretsStore) -> None:
    server_name = mounts(plan)["dgx0001"][0].what.split(":")[0]   # fa001-ct0-eth10.lab.internal
    srv, cli = _contexts(store, "fa001", "dgx0001")
    result: dict[str, object] = {}
    t = threading.Thread(target=_serve, args=(listener, srv, result))
    t.start()
    with socket.create_connection(listener.getsockname(), timeout=30) as raw, \
            cli.wrap_socket(raw, server_hostname=server_name) as tls:
        tls.sendall(b"ping")
        assert tls.recv(4) == b"pong"
        assert tls.version() == "TLSv1.3"
        assert dict(x[0] for x in tls.getpeercert()["subject"])["commonName"] == "fa001"
    t.join(30)
    assert result.get("data") == b"ping", result
    assert result["peer"] == {"organizationName": "rscctl", "commonName": "dgx0001"}


def test_certificate_of_another_clusters_ca_is_refused(listener: socket.socket, plan: Plan,
                                                       store: SecretsStore,
                                                       tmp_path: Path) -> None:
    other = _make(tmp_path / "other", plan)          # same names, another cluster's CA
    srv, cli = _contexts(store, "fa001", "dgx0001", client_store=other)
    result: dict[str, object] = {}
    t = threading.Thread(target=_serve, args=(listener, srv, result))
    t.start()
    with socket.create_connection(listener.getsockname(), timeout=30) as raw, \
            pytest.raises((ssl.SSLError, ConnectionError)), \
            cli.wrap_socket(raw, server_hostname="fa001.lab.internal") as tls:
        tls.sendall(b"ping")
        if not tls.recv(4):
            raise ConnectionError("closed by the server")
    t.join(30)
    assert isinstance(result.get("error"), ssl.SSLError), result
    assert "certificate" in str(result["error"]).lower()
    # and a node of this cluster does not accept a server of the other one
    cli_ok = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cli_ok.load_verify_locations(store.ca_cert_path)
    with pytest.raises(ssl.SSLCertVerificationError):
        cli_ok.verify_mode = ssl.CERT_REQUIRED
        foreign = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        foreign.load_cert_chain(other.cert_path("fa001"), other.key_path("fa001"))
        a, b = socket.socketpair()
        with a, b:
            box: dict[str, object] = {}
            th = threading.Thread(target=lambda: _accept_pair(b, foreign, box))
            th.start()
            try:
                cli_ok.wrap_socket(a, server_hostname="fa001.lab.internal")
            finally:
                a.close()
                th.join(30)


def _accept_pair(sock: socket.socket, ctx: ssl.SSLContext, box: dict[str, object]) -> None:
    try:
        ctx.wrap_socket(sock, server_side=True)
    except (ssl.SSLError, OSError) as exc:
        box["error"] = exc


def test_rerun_keeps_keys_and_rotate_replaces_them(tmp_path: Path, plan: Plan) -> None:
    root = tmp_path / "s"
    store = _make(root, plan)
    keys = {p.name: p.read_bytes() for p in (root / "nodes").glob("*.key")}
    ca_key = store.ca_key_path.read_bytes()
    again = SecretsStore(root).ensure(plan.build, identities(plan), ca_days=365, cert_days=90)
    assert again.ca == "kept" and not again.created and not again.rotated and not again.reissued
    assert {p.name: p.read_bytes() for p in (root / "nodes").glob("*.key")} == keys
    # a changed identity re-issues the certificate with the same key
    idents = identities(plan)
    idents[0] = type(idents[0])(idents[0].name, (*idents[0].dns, "extra.lab.internal"),
                                idents[0].ips)
    r = SecretsStore(root).ensure(plan.build, idents, ca_days=365, cert_days=90)
    assert r.reissued == [idents[0].name]
    assert store.key_path(idents[0].name).read_bytes() == keys[f"{idents[0].name}.key"]
    rotated = SecretsStore(root).ensure(plan.build, identities(plan), ca_days=365, cert_days=90,
                                        rotate=True)
    assert len(rotated.rotated) == len(keys)
    assert all(store.key_path(Path(n).stem).read_bytes() != k for n, k in keys.items())
    assert store.ca_key_path.read_bytes() == ca_key
    r = SecretsStore(root).ensure(plan.build, identities(plan), ca_days=365, cert_days=90,
                                  rotate_ca=True)
    assert r.ca == "rotated" and len(r.reissued) == len(keys)
    ca = _cert(store.ca_cert_path)
    assert all(chains_to(_cert(store.cert_path(i.name)), ca) for i in identities(plan))


def test_secrets_inside_the_repository_must_be_ignored(tmp_path: Path) -> None:
    check_location(tmp_path / "anywhere")                 # outside: fine
    if shutil.which("git") and (ROOT / ".git").exists():
        check_location(ROOT / "secrets" / "x")            # .gitignore has secrets/
        with pytest.raises(UserError, match="not git-ignored"):
            check_location(ROOT / "rscctl" / "keys")


def test_cli_pki(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build = write_build(tmp_path, net_build_dict(name="clipki"))
    out, secrets = tmp_path / "out", tmp_path / "sec"
    assert main(["pki", str(build), "--out", str(out), "--secrets", str(secrets)]) == 2
    assert "run `rscctl plan BUILD` first" in capsys.readouterr().err
    assert main(["plan", str(build), "--out", str(out), "--only", "plan"]) == 0
    assert main(["pki", str(build), "--out", str(out), "--secrets", str(secrets)]) == 0
    assert "CA created" in capsys.readouterr().out
    assert main(["pki", str(build), "--out", str(out), "--secrets", str(secrets)]) == 0
    assert "0 created, 0 re-issued, 0 rotated" in capsys.readouterr().out
    assert main(["pki", str(build), "--out", str(out), "--secrets",
                 str(ROOT / "rscctl" / "nope")]) == 2


def test_tlshd_config_and_mount_units(plan: Plan) -> None:
    files = render(plan, ["nfs"])
    conf = configparser.ConfigParser()
    conf.read_string(files["nfs/tlshd.conf"].decode())
    assert conf.sections() == ["debug", "authenticate", "authenticate.client",
                               "authenticate.server"]
    for side in ("authenticate.client", "authenticate.server"):
        assert conf[side]["x509.truststore"] == "/etc/tlshd/rsc-ca.pem"
        assert conf[side]["x509.certificate"] == "/etc/tlshd/node.pem"
        assert conf[side]["x509.private_key"] == "/etc/tlshd/node.key"
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    table = list(csv.DictReader(io.StringIO(files["nfs/mounts.csv"].decode())))
    row = next(r for r in table if r["host"] == "dgx0002" and r["unit"] == "mnt-cache.mount")
    assert row["file"] == "nfs/units/cache002-data0/mnt-cache.mount"
    unit.read_string(files[row["file"]].decode())
    assert unit["Mount"]["Type"] == "nfs"
    assert "xprtsec=mtls" in unit["Mount"]["Options"].split(",")
    assert unit["Mount"]["What"] == "cache002-data0.lab.internal:/cache"   # node 2 -> system 2
    assert unit["Mount"]["Where"] == "/mnt/cache"
    assert {r["host"] for r in table} == {f"dgx{i:04d}" for i in range(1, 9)} | {
        "ingest01", "ingest02"}
    assert {r["file"] for r in table} == {k for k in files if k.startswith("nfs/units/")}


@pytest.mark.skipif(shutil.which("systemd-escape") is None, reason="needs systemd-escape")
@pytest.mark.parametrize("path", ["/mnt/cache", "/mnt/data-sets/v1", "/mnt/a b", "/mnt/.x"])
def test_unit_names_match_systemd_escape(path: str) -> None:
    out = subprocess.run(["systemd-escape", "--path", path], capture_output=True, text=True,
                         check=True, env={**os.environ, "LC_ALL": "C"})
    assert systemd_escape_path(path) == out.stdout.strip()


# -- the Ansible role pushes the same bytes --------------------------------------------------

def test_role_lints_clean_in_production_profile() -> None:
    lint = Path(sys.executable).with_name("ansible-lint")
    proc = subprocess.run([str(lint), "--profile", "production", "--offline",
                           "playbooks/roles/nfs_tls", "playbooks/nfs-tls.yml"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("tlshd.conf.j2", "nfs.mount.j2"):
        link = ROOT / "playbooks/roles/nfs_tls/templates" / name
        assert link.resolve() == ROOT / "templates/nfs" / name


@pytest.mark.skipif(os.geteuid() != 0, reason="the role installs files owned by root")
def test_ansible_pushes_what_rscctl_renders(tmp_path: Path, plan: Plan,
                                           store: SecretsStore) -> None:
    """ansible-playbook, on the inventory rscctl writes and the keys `rscctl pki` made, writes
    tlshd.conf and the mount units byte for byte as rscctl renders them (local connection,
    into a scratch root, systemd left alone)."""
    files = render(plan, ["ansible", "nfs"])
    write_files(tmp_path / "out", files)
    root = tmp_path / "root"
    bindir = Path(sys.executable).parent
    env = ansible_env(tmp_path)
    proc = subprocess.run(
        [str(bindir / "ansible-playbook"), "-i", str(tmp_path / "out/ansible/inventory"),
         "-l", "dgx0002", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", f"nfs_tls_root={root}", "-e", "nfs_tls_systemd=false",
         "-e", f"nfs_tls_secrets_dir={store.root}", "-e", "ansible_become=false",
         str(ROOT / "playbooks/nfs-tls.yml")],
        env=env, capture_output=True, text=True, check=False, cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert (root / "etc/tlshd.conf").read_bytes() == files["nfs/tlshd.conf"]
    units = sorted((root / "etc/systemd/system").iterdir())
    assert [u.name for u in units] == ["mnt-cache.mount", "mnt-checkpoints.mount"]
    table = list(csv.DictReader(io.StringIO(files["nfs/mounts.csv"].decode())))
    for unit in units:
        row = next(r for r in table if r["host"] == "dgx0002" and r["unit"] == unit.name)
        assert unit.read_bytes() == files[row["file"]]
    key = root / "etc/tlshd/node.key"
    assert key.read_bytes() == store.key_path("dgx0002").read_bytes()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "dgx0002.key" not in proc.stdout, "the key's task is no_log"
