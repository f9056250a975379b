"""Host keys from a known_hosts file, for connections that pin one key per host (Pulumi's
remote connections take the key itself, not a file)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rscctl.errors import UserError


@dataclass(frozen=True)
class KnownHost:
    patterns: tuple[str, ...]  # names, [addr]:port, or one hashed |1|salt|hash entry
    key: str  # "ssh-ed25519 AAAA..."
    line: int


def parse(text: str) -> list[KnownHost]:
    """Entries of a known_hosts text; markers (@revoked, @cert-authority) and comments skipped."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        words = raw.split()
        if not words or words[0].startswith("#") or words[0].startswith("@") or len(words) < 3:
            continue
        out.append(KnownHost(tuple(words[0].split(",")), f"{words[1]} {words[2]}", n))
    return out


def _matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        try:
            _, _, salt, digest = pattern.split("|")
            mac = hmac.new(base64.b64decode(salt), name.encode(), hashlib.sha1).digest()
        except ValueError:
            return False
        return hmac.compare_digest(base64.b64encode(mac).decode(), digest)
    return pattern == name


def host_key(entries: Iterable[KnownHost], names: Iterable[str], port: int = 22) -> str | None:
    """The first key listed for any of `names` (host names or addresses, in that order)."""
    wanted = [n if port == 22 else f"[{n}]:{port}" for n in names]
    items = list(entries)
    for name in wanted:
        for e in items:
            if any(_matches(p, name) for p in e.patterns):
                return e.key
    return None


def load(path: Path) -> list[KnownHost]:
    try:
        return parse(path.expanduser().read_text())
    except OSError as e:
        raise UserError(f"{path}: known_hosts cannot be read ({e.strerror}); set "
                        "rscctl:knownHosts (or --known-hosts) to the file with every "
                        "host's key (`ssh-keyscan` them once, from a trusted network)") from None
