"""`mirrors:` in a build: the in-enclave package sources, the only ones a role may use.

The cluster has no route to the internet, so every package source is declared here and must
be inside the enclave: its host is a name under the build's DNS domain or an address in one of
its declared supernets. The base role makes the apt mirror the only apt source; the wheel
house is the only Python index (execution-environment.yml, pip.conf on the hosts).
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from rscctl.declare.catalog import Strict


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r}: a mirror is an http:// or https:// URL with a host, "
                         "e.g. http://mirror.rsc.internal/debian")
    if any(c.isspace() or ord(c) < 32 for c in value) or len(value) > 256:
        raise ValueError(f"{value!r}: one line of at most 256 characters, no spaces")
    return value


MirrorUrl = Annotated[str, AfterValidator(_url)]


class Mirrors(Strict):
    """The in-enclave mirrors (each optional; a role needing an undeclared one skips it)."""

    apt: MirrorUrl | None = Field(default=None, description="Debian/Ubuntu apt mirror (deb822 URI)")
    pypi: MirrorUrl | None = Field(default=None, description="Python wheel house (simple index)")

    def declared(self) -> dict[str, str]:
        return {k: v for k, v in (("apt", self.apt), ("pypi", self.pypi)) if v}


def check_in_enclave(mirrors: Mirrors, domain: str,
                     supernets: Mapping[str, IPv4Network]) -> None:
    """Every mirror's host is under `domain` or inside a declared supernet."""
    for key, url in mirrors.declared().items():
        host = urlsplit(url).hostname or ""
        try:
            addr = IPv4Address(host)
        except ValueError:
            if host == domain or host.endswith("." + domain):
                continue
            raise ValueError(
                f"mirrors.{key}={url!r}: {host} is not under the build's domain {domain}; "
                f"the cluster reaches no source outside the enclave: use e.g. "
                f"http://mirror.{domain}/ or an address in a declared network") from None
        if not any(addr in net for net in supernets.values()):
            raise ValueError(
                f"mirrors.{key}={url!r}: {addr} is in none of the declared networks "
                f"({', '.join(sorted(supernets)) or 'none'}); use a mirror inside the enclave")
