"""The cluster CA and one certificate per node for NFS over TLS (xprtsec=mtls), from the plan.

Who gets a certificate: every device on the storage network that is not a switch (GPU nodes,
storage systems, servers). Its subject alternative names are its names (device, FQDN, the name
of each of its in-band, storage and IPoIB interfaces) and those interfaces' addresses; the BMC's
out-of-band address belongs to another machine and is left out.

Keys are ECDSA P-256 (GnuTLS, hence tlshd, accepts them; 2,500 of them take seconds, RSA would
take minutes). Certificates carry serverAuth and clientAuth: a node is a client of the storage
systems and a storage system is a server, and both prove who they are (mutual TLS).

The store lives outside the repository (default ~/.local/share/rscctl/secrets/BUILD, or
$XDG_DATA_HOME); inside a git work tree it must be git-ignored. Every file is 0600 and every
directory 0700. Re-running keeps every key: a certificate is re-issued (same key) only when its
names changed, its CA changed, it no longer matches its key or it is about to expire. New keys
only when asked (--rotate for node keys, --rotate-ca for the CA).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import stat
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rscctl.errors import UserError
from rscctl.export.names import iface_name
from rscctl.planner.model import Plan

NOT_NODES = {"storage-leaf", "storage-spine", "inband-switch", "oob-switch", "mgmt-core"}
SAN_NETWORKS = ("inband", "storage", "ipoib")
RENEW_BEFORE = dt.timedelta(days=30)
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Identity:
    """A node's certificate subject: its name, DNS names and IP addresses."""

    name: str
    dns: tuple[str, ...]
    ips: tuple[str, ...]


def identities(plan: Plan) -> list[Identity]:
    """One identity per node on the storage network, in plan order."""
    domain = plan.facts.dns.domain
    on_storage = {a.device for a in plan.addresses if a.network == "storage"}
    names: dict[str, list[str]] = {}
    ips: dict[str, list[str]] = {}
    for a in plan.addresses:
        if a.device in on_storage and a.network in SAN_NETWORKS:
            iface = iface_name(a.device, a.interface)
            names.setdefault(a.device, []).extend([iface, f"{iface}.{domain}"])
            ips.setdefault(a.device, []).append(a.address)
    out = []
    for d in plan.devices:
        if d.name in on_storage and d.role not in NOT_NODES:
            dns = (d.name, f"{d.name}.{domain}", *names.get(d.name, []))
            out.append(Identity(d.name, dns, tuple(ips.get(d.name, []))))
    return out


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(build: str, key: ec.EllipticCurvePrivateKey, now: dt.datetime,
            days: int) -> x509.Certificate:
    """A self-signed CA that signs node certificates only (path length 0)."""
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "rscctl"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"rscctl cluster CA {build}"),
    ])
    pub = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .sign(key, hashes.SHA256())
    )


def _sans(ident: Identity) -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in ident.dns] + [x509.IPAddress(IPv4Address(a)) for a in ident.ips]
    )


def issue(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, ident: Identity,
          key: ec.EllipticCurvePrivateKey, now: dt.datetime, days: int) -> x509.Certificate:
    """A node certificate for TLS client and server use, its names and addresses as SANs."""
    pub = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "rscctl"),
            x509.NameAttribute(NameOID.COMMON_NAME, ident.name),
        ]))
        .issuer_name(ca.subject).public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(_sans(ident), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _spki(pub: CertificatePublicKeyTypes) -> bytes:
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def chains_to(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """The certificate was signed by this CA (signature and issuer name)."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _current(cert: x509.Certificate, ident: Identity, key: ec.EllipticCurvePrivateKey,
             ca: x509.Certificate, now: dt.datetime) -> bool:
    """Still good: same names, same key, this CA, not about to expire."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    same_key = _spki(cert.public_key()) == _spki(key.public_key())
    return (
        sans == _sans(ident) and same_key and chains_to(cert, ca)
        and cert.not_valid_after_utc - now > RENEW_BEFORE
    )


# -- the secrets directory (the only I/O of this module) ------------------------------------

def default_secrets_dir(build: str) -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rscctl" / "secrets" / build


def check_location(path: Path, repo: Path = REPO) -> None:
    """Secrets never land where git would pick them up."""
    real = path.resolve()
    try:
        real.relative_to(repo.resolve())
    except ValueError:
        return
    try:
        ok = subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", str(real)],
                            capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    if not ok:
        raise UserError(
            f"--secrets {path}: inside the repository and not git-ignored; keep secrets outside "
            f"it (default {default_secrets_dir('BUILD')}) or in an ignored directory (secrets/)"
        )


def _refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise UserError(f"{path}: a symbolic link in the secrets directory; secrets are never "
                        "read or written through links: replace it by the file itself")


def _check_owner(path: Path, st: os.stat_result) -> None:
    if st.st_uid != os.geteuid():
        raise UserError(f"{path}: owned by uid {st.st_uid}, not by you (uid {os.geteuid()}); "
                        "a secret someone else controls is not yours to use: remove it or run "
                        "as its owner")


def make_private_dir(path: Path, warnings: list[str]) -> None:
    """`path` and every directory created on the way to it 0700, whatever the umask; an
    existing one that is wider is narrowed (with a warning), one of another user refused."""
    missing = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        p = p.parent
    if not p.is_dir():
        raise UserError(f"--secrets {path}: {p} is a file, not a directory; give a directory "
                        "(default ~/.local/share/rscctl/secrets/BUILD)")
    for d in reversed(missing):
        os.mkdir(d, 0o700)
        os.chmod(d, 0o700)   # mkdir's mode is cut by the umask: 0700 exactly, always
    _private_mode(path, 0o700, warnings)


def _private_mode(path: Path, mode: int, warnings: list[str]) -> None:
    """An existing secret file or directory: ours, not a link, and `mode` (narrowed if wider)."""
    _refuse_link(path)
    st = path.stat()
    _check_owner(path, st)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)
        warnings.append(f"{path}: mode {stat.S_IMODE(st.st_mode):04o}, now {mode:04o}")


def _read_private(path: Path, warnings: list[str]) -> bytes | None:
    """A secret file's bytes (None if absent): never through a link, never another user's
    file, and narrowed to 0600 (with a warning) if it was readable by others."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _refuse_link(path)
        raise
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{path}: not a regular file; remove it")
        _check_owner(path, st)
        if stat.S_IMODE(st.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
            warnings.append(f"{path}: mode {stat.S_IMODE(st.st_mode):04o}, now 0600")
        return fh.read()


def _write_private(path: Path, data: bytes) -> None:
    """Atomically write a 0600 file (created 0600, never readable by others for an instant)."""
    _refuse_link(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _load_key(path: Path, warnings: list[str]) -> ec.EllipticCurvePrivateKey | None:
    data = _read_private(path, warnings)
    if data is None:
        return None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise UserError(f"{path}: not a readable private key; remove it or run with "
                        "--rotate") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise UserError(f"{path}: not an ECDSA key; run with --rotate to replace it")
    return key


def _load_cert(path: Path, warnings: list[str]) -> x509.Certificate | None:
    data = _read_private(path, warnings)
    if data is None:
        return None
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        return None


@dataclass
class PkiReport:
    """What a run did, by node name."""

    ca: str = "kept"
    created: list[str] = field(default_factory=list)
    reissued: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # modes narrowed to 0600/0700


class SecretsStore:
    """ca.key, ca.pem and nodes/NAME.key, nodes/NAME.pem under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def ca_key_path(self) -> Path:
        return self.root / "ca.key"

    @property
    def ca_cert_path(self) -> Path:
        return self.root / "ca.pem"

    def key_path(self, name: str) -> Path:
        return self.root / "nodes" / f"{name}.key"

    def cert_path(self, name: str) -> Path:
        return self.root / "nodes" / f"{name}.pem"

    def audit(self, warnings: list[str]) -> None:
        """Before anything is written: the directories exist (0700), and no file of the store
        is a link or another user's; wider modes are narrowed, each with a warning."""
        if self.root.exists() and not self.root.is_dir():
            raise UserError(f"--secrets {self.root}: a file, not a directory; give a directory "
                            "(default ~/.local/share/rscctl/secrets/BUILD)")
        make_private_dir(self.root, warnings)
        nodes = self.root / "nodes"
        _refuse_link(nodes)
        make_private_dir(nodes, warnings)
        for path in [self.ca_key_path, self.ca_cert_path, *sorted(nodes.iterdir())]:
            if os.path.lexists(path):
                if path.is_dir() and not path.is_symlink():
                    raise UserError(f"{path}: a directory where a secret file belongs; remove it")
                _private_mode(path, 0o600, warnings)

    def ensure(self, build: str, idents: Iterable[Identity], *, ca_days: int, cert_days: int,
               rotate: bool = False, rotate_ca: bool = False,
               now: dt.datetime | None = None) -> PkiReport:
        """Make what is missing, re-issue what is out of date, keep every key unless asked."""
        now = now or dt.datetime.now(dt.UTC)
        report = PkiReport()
        self.audit(report.warnings)
        ca_key, ca = self._ca(build, now, ca_days, rotate_ca, report)
        wanted = set()
        for ident in idents:
            wanted.add(ident.name)
            key = None if rotate else _load_key(self.key_path(ident.name), report.warnings)
            had_key = self.key_path(ident.name).is_file()
            if key is None:
                key = new_key()
                _write_private(self.key_path(ident.name), _key_pem(key))
            cert = _load_cert(self.cert_path(ident.name), report.warnings)
            if cert is not None and not rotate and _current(cert, ident, key, ca, now):
                report.kept.append(ident.name)
                continue
            cert = issue(ca_key, ca, ident, key, now, cert_days)
            _write_private(self.cert_path(ident.name), _cert_pem(cert))
            (report.rotated if rotate and had_key else
             report.reissued if had_key else report.created).append(ident.name)
        nodes = self.root / "nodes"
        report.stale = sorted(p.stem for p in nodes.glob("*.key") if p.stem not in wanted)
        return report

    def _ca(self, build: str, now: dt.datetime, days: int, rotate: bool,
            report: PkiReport) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = None if rotate else _load_key(self.ca_key_path, report.warnings)
        cert = None if rotate else _load_cert(self.ca_cert_path, report.warnings)
        if key is not None and cert is not None and (
            _spki(cert.public_key()) == _spki(key.public_key())
            and cert.not_valid_after_utc - now > RENEW_BEFORE
        ):
            return key, cert
        if key is None:
            key = new_key()
            _write_private(self.ca_key_path, _key_pem(key))
            report.ca = "rotated" if rotate else "created"
        else:
            report.ca = "reissued"
        cert = make_ca(build, key, now, days)
        _write_private(self.ca_cert_path, _cert_pem(cert))
        return key, cert


__all__ = [
    "Identity", "PkiReport", "SecretsStore", "chains_to", "check_location",
    "default_secrets_dir", "identities", "issue", "make_ca", "new_key",
]
