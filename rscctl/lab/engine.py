"""podman, run with this machine's settings from a config file the lab writes in its state dir.

The settings (runtime, cgroup manager, events backend, ulimits) live in
templates/lab/containers.conf (or the file named by $RSCCTL_LAB_CONTAINERS_CONF, for another
machine), rendered into STATE/containers.conf and used through CONTAINERS_CONF; the lab's
container storage is its own (STATE/storage.conf).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rscctl.errors import MissingTool, RscctlError, UserError
from rscctl.templating import environment, render

RUN_DIR = Path("/run/rscctl/lab")
# Another machine's podman settings: a containers.conf (may use {{ run_dir }}) instead of ours.
CONF_ENV = "RSCCTL_LAB_CONTAINERS_CONF"


class EngineUnavailable(RscctlError):
    """podman is installed but cannot run containers on this machine (exit 2)."""


@dataclass(frozen=True)
class Podman:
    """Calls podman with the lab's configuration files, never the host's defaults."""

    state_dir: Path
    cache_dir: Path

    @property
    def containers_conf(self) -> Path:
        return self.state_dir / "containers.conf"

    @property
    def storage_conf(self) -> Path:
        return self.state_dir / "storage.conf"

    def write_config(self) -> None:
        """(Re)write both config files from templates; cheap and keeps them current."""
        ctx = {"run_dir": str(RUN_DIR), "cache_dir": str(self.cache_dir)}
        for name, target in (("containers.conf", self.containers_conf),
                             ("storage.conf", self.storage_conf)):
            text = render(f"lab/{name}", **ctx)
            own = os.environ.get(CONF_ENV) if name == "containers.conf" else None
            if own:
                try:
                    text = environment().from_string(Path(own).read_text()).render(**ctx)
                except OSError as exc:
                    raise UserError(f"{CONF_ENV}={own}: cannot read it ({exc.strerror})"
                                    ) from None
            if not target.is_file() or target.read_text() != text:
                target.write_text(text)
        reg = self.state_dir / "registries.conf"
        if not reg.is_file():
            reg.write_text("# the lab never pulls: its image is made locally\n"
                           "unqualified-search-registries = []\n")
        for sub in ("libpod-tmp", "networks", "storage"):
            (RUN_DIR / sub).mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["CONTAINERS_CONF"] = str(self.containers_conf)
        env["CONTAINERS_STORAGE_CONF"] = str(self.storage_conf)
        env["CONTAINERS_REGISTRIES_CONF"] = str(self.state_dir / "registries.conf")
        return env

    def __call__(self, *args: str, check: bool = True,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
        if shutil.which("podman") is None:
            raise MissingTool("podman is not installed; the lab runs its nodes as podman "
                              "containers (Debian: apt-get install podman runc)")
        res = subprocess.run(["podman", *args], env=self.env(), text=True, capture_output=True,
                             check=False, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and res.returncode != 0:
            raise EngineUnavailable(
                f"podman {args[0]} failed (rc {res.returncode}): {_tail(res.stderr)}")
        return res

    def preflight(self, *probe: str) -> subprocess.CompletedProcess[str]:
        """Say clearly, before anything is made, when podman cannot run here.

        `probe` is the first podman command the caller needs anyway (default `info`); its
        result is returned, so checking the engine costs no extra call.
        """
        if os.geteuid() != 0:
            raise EngineUnavailable(
                "the lab needs root (network namespaces, a bridge, rootful podman); "
                "run `sudo rscctl lab up` or use the Vagrantfile")
        if not Path("/proc/self/ns/net").exists():
            raise EngineUnavailable("this kernel has no network namespaces; the lab needs them")
        if shutil.which("ip") is None:
            raise MissingTool("ip (iproute2) is not installed; apt-get install iproute2")
        self.write_config()
        res = self(*(probe or ("info", "--format", "{{.Host.OCIRuntime.Name}}")), check=False,
                   timeout=60)
        if res.returncode != 0:
            raise EngineUnavailable(
                "podman cannot run on this machine with the lab's settings "
                f"({self.containers_conf}): {_tail(res.stderr)}; adjust "
                f"templates/lab/containers.conf for this machine, or name another file in "
                f"${CONF_ENV}")
        return res


def _tail(text: str, lines: int = 3) -> str:
    out = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(out[-lines:]) or "no message"
