"""What a `rscctl apply` run did on each host, read back from ansible-runner's job events."""

from __future__ import annotations

import json
from pathlib import Path

# Actions that run in the controller's worker, never on a node.
CONTROLLER_SIDE = {"ansible.builtin.assert", "ansible.builtin.set_fact", "ansible.builtin.debug",
                   "ansible.builtin.meta"}


def node_calls(run: Path) -> dict[str, list[str]]:
    """Per host, the modules a run ran on it (every batch's events; what is delegated to the
    controller left out)."""
    calls: dict[str, list[str]] = {}
    for path in sorted(run.glob("batch-*/artifacts/run/job_events/*.json"),
                       key=lambda p: (p.parent.parent.parent.parent.name,
                                      int(p.name.split("-", 1)[0]))):
        ev = json.loads(path.read_text())
        data = ev.get("event_data") or {}
        if ev.get("event") not in ("runner_on_ok", "runner_on_failed", "runner_item_on_ok"):
            continue
        if data.get("task_action") in CONTROLLER_SIDE or \
                (data.get("res") or {}).get("_ansible_delegated_vars"):
            continue
        calls.setdefault(data["host"], []).append(data["task_action"])
    return calls
