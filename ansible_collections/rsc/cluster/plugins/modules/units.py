#!/usr/bin/python
"""rsc.cluster.units: daemon-reload, enable and start or restart a role's units in one call.

Each ansible.builtin.systemd_service task is one module call (~5 s of guest CPU under qemu's
software emulation); a role's units are handled here in one, each reported on its own."""

from __future__ import annotations

DOCUMENTATION = r"""
module: units
short_description: Enable, start and restart several systemd units in one round trip
description:
  - Reloads systemd first when one of the units' files changed on disk (NeedDaemonReload)
    or is not loaded yet, or when O(daemon_reload) is true.
  - Then, unit by unit, enables it and brings it to its state; reports which units changed.
  - Supports check mode (nothing is run but queries) and diff mode.
options:
  units:
    description: The units, in order.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: The unit's name., type: str, required: true}
      enabled: {description: Enabled at boot (true) or not (false); unset leaves it., type: bool}
      state:
        description: C(started), C(stopped) or C(restarted) (always restarts); unset leaves it.
        type: str
        choices: [started, stopped, restarted]
  names:
    description: More units, each with O(enabled) and O(state) (after O(units)).
    type: list
    elements: str
    default: []
  enabled: {description: For O(names)., type: bool}
  state: {description: For O(names)., type: str, choices: [started, stopped, restarted]}
  daemon_reload:
    description: Reload systemd even when no unit needs it.
    type: bool
    default: false
  without_systemd:
    description: Where systemd does not run (a container), C(fail) or C(skip) (reported as
      RV(systemd) false).
    type: str
    choices: [fail, skip]
    default: fail
author: rscctl
"""

EXAMPLES = r"""
- name: Enable and start the health timer
  rsc.cluster.units:
    units:
      - {name: rscctl-health.timer, enabled: true, state: started}

- name: Restart the changed mounts
  rsc.cluster.units:
    names: [mnt-data.mount, mnt-cache.mount]
    state: restarted
"""

RETURN = r"""
changed_units:
  description: The units enabled, disabled, started, stopped or restarted (or that would be).
  type: list
  elements: str
  returned: always
started_units:
  description: The units this call started or restarted (or would).
  type: list
  elements: str
  returned: always
daemon_reloaded:
  description: Whether systemd was (or would be) reloaded.
  type: bool
  returned: always
systemd:
  description: Whether systemd runs this host.
  type: bool
  returned: always
"""

import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

_UNIT = {"name": {"type": "str", "required": True}, "enabled": {"type": "bool"},
         "state": {"type": "str", "choices": ["started", "stopped", "restarted"]}}
# `systemctl is-enabled` answers that need no `enable` (they cannot be, or already are).
_NO_ENABLE = ("enabled", "enabled-runtime", "static", "alias", "indirect", "generated",
              "transient")


def _props(module, names):
    """{unit: {property: value}}: everything the call decides on, in one `systemctl show`."""
    rc, out, err = module.run_command(["systemctl", "show", "--property=LoadState,"
                                       "NeedDaemonReload,UnitFileState,ActiveState", "--",
                                       *names])
    if rc != 0:
        module.fail_json(msg=f"systemctl show: {err.strip()}")
    props = []
    for block in out.strip().split("\n\n"):
        props.append(dict(line.split("=", 1) for line in block.splitlines() if "=" in line))
    if len(props) != len(names):
        module.fail_json(msg=f"systemctl show: {len(props)} answers for {len(names)} units")
    return dict(zip(names, props, strict=True))


def _systemctl(module, *args):
    rc, out, err = module.run_command(["systemctl", *args])
    if rc != 0:
        module.fail_json(msg=f"systemctl {' '.join(args)}: {(err or out).strip()}")


def decide(units, props, daemon_reload=False):
    """What one call does, from `systemctl show`'s answers (`props`: {unit: {property:
    value}}). Pure, so its choices are tested without systemd (tests/apply/test_rsc_modules.py).
    Each systemctl run costs seconds under emulation: one enable/disable for all the units, then
    one daemon-reload (`enable --no-reload`), then one start/stop/restart per verb."""
    todo = {"enable": [], "disable": [], "start": [], "stop": [], "restart": []}
    before, after, changed_units, started_units = [], [], [], []
    for u in units:
        name, pr, changed = u["name"], props.get(u["name"], {}), False
        if u.get("enabled") is not None:
            now = pr.get("UnitFileState") or "unknown"
            if pr.get("LoadState") == "not-found":
                now = "not-found"
            is_on = now in _NO_ENABLE
            if is_on != u["enabled"] and not (now == "static" and not u["enabled"]):
                verb = "enable" if u["enabled"] else "disable"
                todo[verb].append(name)
                before.append(f"{name}: {now}")
                after.append(f"{name}: {verb}d")
                changed = True
        if u.get("state") is not None:
            active = pr.get("ActiveState") or "unknown"
            verb = {"started": "start" if active not in ("active", "reloading") else "",
                    "stopped": "stop" if active in ("active", "activating", "reloading") else "",
                    "restarted": "restart"}[u["state"]]
            if verb:
                todo[verb].append(name)
                before.append(f"{name}: {active}")
                after.append(f"{name}: {verb}")
                if verb != "stop":
                    started_units.append(name)
                changed = True
        if changed:
            changed_units.append(name)
    reload = daemon_reload or bool(todo["enable"] or todo["disable"]) or any(
        pr.get("NeedDaemonReload") == "yes" or pr.get("LoadState") == "not-found"
        for pr in props.values())
    if reload:
        before.append("daemon-reload: pending")
        after.append("daemon-reload: done")
    return {"todo": todo, "changed_units": changed_units, "started_units": started_units,
            "daemon_reloaded": reload, "before": before, "after": after}


def main():
    module = AnsibleModule(
        argument_spec={"units": {"type": "list", "elements": "dict", "default": [],
                                 "options": _UNIT},
                       "names": {"type": "list", "elements": "str", "default": []},
                       "enabled": _UNIT["enabled"], "state": _UNIT["state"],
                       "daemon_reload": {"type": "bool", "default": False},
                       "without_systemd": {"type": "str", "choices": ["fail", "skip"],
                                           "default": "fail"}},
        supports_check_mode=True,
    )
    p = module.params
    units = p["units"] + [{"name": n, "enabled": p["enabled"], "state": p["state"]}
                          for n in p["names"]]
    result = {"changed": False, "changed_units": [], "started_units": [],
              "daemon_reloaded": False, "systemd": os.path.isdir("/run/systemd/system")}
    if not result["systemd"]:
        if p["without_systemd"] == "fail":
            module.fail_json(msg="systemd does not run this host (no /run/systemd/system)",
                             **result)
        module.exit_json(**result)
    names = [u["name"] for u in units]
    d = decide(units, _props(module, names) if names else {}, p["daemon_reload"])
    todo, reload = d["todo"], d["daemon_reloaded"]
    result.update(changed_units=d["changed_units"], started_units=d["started_units"],
                  daemon_reloaded=reload)
    result["changed"] = bool(result["changed_units"]) or reload
    if not module.check_mode:
        for verb in ("enable", "disable"):
            if todo[verb]:
                _systemctl(module, verb, "--no-reload", "--", *todo[verb])
        if reload:
            _systemctl(module, "daemon-reload")
        for verb in ("stop", "start", "restart"):
            if todo[verb]:
                _systemctl(module, verb, "--", *todo[verb])
    if module._diff and result["changed"]:
        result["diff"] = {"before": "\n".join(d["before"]) + "\n",
                          "after": "\n".join(d["after"]) + "\n"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
