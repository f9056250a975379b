"""The lab's state directory: what `lab up` made, recorded as it goes, so `lab down` can undo it.

STATE/state.json is rewritten atomically after each step (phase, hosts, namespaces and
containers made so far). `lab down` trusts it but does not depend on it: it also finds the lab's
containers by label and its namespaces by name prefix, so a crash between a step and its record
still leaves nothing behind.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rscctl.lab.hosts import NETNS_PREFIX, LabLayout, lab_id

STATE_FILE = "state.json"


@dataclass
class LabState:
    """Where a lab lives and what it has made so far."""

    state_dir: Path
    phase: str = "absent"
    layout: LabLayout | None = None
    image: str = ""
    netns: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def lab_id(self) -> str:
        return lab_id(self.state_dir)

    @property
    def prefix(self) -> str:
        """Prefix of every namespace and container name of this lab."""
        return f"{NETNS_PREFIX}-{self.lab_id}-"

    def netns_of(self, host: str) -> str:
        return f"{self.prefix}{host}"

    @property
    def switch_ns(self) -> str:
        return f"{self.prefix}switch"

    @property
    def controller_ns(self) -> str:
        return f"{self.prefix}ctl"

    def path(self, name: str) -> Path:
        return self.state_dir / name

    def save(self) -> None:
        doc: dict[str, Any] = {
            "lab_id": self.lab_id, "phase": self.phase, "image": self.image,
            "layout": self.layout.as_dict() if self.layout else None,
            "netns": self.netns, "containers": self.containers, "timings": self.timings,
        }
        tmp = self.path(STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path(STATE_FILE))

    @classmethod
    def load(cls, state_dir: Path) -> LabState:
        """The recorded state, or an empty one (phase 'absent') when nothing is recorded."""
        st = cls(state_dir)
        f = st.path(STATE_FILE)
        if not f.is_file():
            return st
        try:
            doc = json.loads(f.read_text())
        except (OSError, ValueError):
            st.phase = "unreadable"
            return st
        st.phase = doc.get("phase", "unknown")
        st.image = doc.get("image", "")
        st.layout = LabLayout.from_dict(doc["layout"]) if doc.get("layout") else None
        st.netns = list(doc.get("netns", []))
        st.containers = list(doc.get("containers", []))
        st.timings = dict(doc.get("timings", {}))
        return st

    def forget(self) -> None:
        """Drop the record and the per-run files; the controller key pair stays."""
        for name in (STATE_FILE, "known_hosts", "ssh_config", "inventory.yml"):
            self.path(name).unlink(missing_ok=True)
