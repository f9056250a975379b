"""A cache of the plugin's inventory data, so a second `ansible-inventory` (AWX's sync, every
play's load) skips reading and re-deriving the plan: 1.7 s of phase 2's 6 s.

Keyed by the bytes of plan.json and of the rscctl modules that derive the data, so a new plan
or a new rscctl never reads stale data. Stdlib only: a hit imports nothing of the planner.
Where: $RSCCTL_CACHE_DIR, else $XDG_CACHE_HOME/rscctl, else ~/.cache/rscctl (`inventory/`);
RSCCTL_INVENTORY_CACHE=0 turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

FORMAT = 1
_PKG = Path(__file__).resolve().parents[1]
# The modules whose code decides the data (a change of any one makes a new key).
SOURCES = ("apply/inventory.py", "export/netdata.py", "export/names.py", "export/nfs.py",
           "firewall/render.py", "firewall/rules.py", "firewall/zones.py", "planjson.py",
           "planner/model.py")


def cache_dir() -> Path:
    base = os.environ.get("RSCCTL_CACHE_DIR")
    if base:
        return Path(base) / "inventory"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "rscctl" / "inventory"


def key(plan_bytes: bytes) -> str:
    h = hashlib.sha256(f"{FORMAT}\0".encode())
    h.update(plan_bytes)
    for name in SOURCES:
        p = _PKG / name
        h.update(name.encode() + b"\0" + (p.read_bytes() if p.is_file() else b""))
    return h.hexdigest()


def _slot(plan_file: Path) -> Path:
    """One cache file per plan path (a new plan there replaces the old entry)."""
    return cache_dir() / (hashlib.sha256(str(plan_file.resolve()).encode()).hexdigest()[:24]
                          + ".json")


def load(plan_file: Path) -> dict[str, Any]:
    """The inventory data of `plan_file` as a dict (InventoryData's fields), cached."""
    enabled = os.environ.get("RSCCTL_INVENTORY_CACHE", "1") != "0"
    try:
        raw = plan_file.read_bytes() if enabled and plan_file.is_file() else None
    except OSError:
        raw = None
    if raw is not None:
        k = key(raw)
        slot = _slot(plan_file)
        try:
            doc = json.loads(slot.read_text())
            if doc.get("key") == k:
                return dict(doc["data"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    from rscctl.apply.inventory import load as derive

    data = derive(plan_file).as_dict()
    if raw is not None:
        _store(slot, {"key": k, "data": data})
    return data


def _store(slot: Path, doc: dict[str, Any]) -> None:
    """Atomically, and never an error: a cache that cannot be written is only slower."""
    try:
        slot.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=slot.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        os.replace(tmp, slot)
    except OSError:
        return
