"""rsc.cluster.parts: what the roles of site.yml want on a host, gathered for one write.

Each role sets ROLE_part, a mapping of lists (directories, files, secrets, units); the converge
role writes them all in one rsc.cluster.files call and brings the units to their state in one
rsc.cluster.units call, instead of a call of each per role (each a python start on the node)."""

from __future__ import annotations

KINDS = ("directories", "files", "secrets", "units")


def parts(host_vars, roles, kind, missing=None):
    """The `kind` entries of every role in `roles` that set ROLE_part on this host, in role
    order. Units carry an optional `requires` (a path, as files do): a unit whose path is in
    `missing` (the files call's missing_requires) is left out; `requires` is dropped from the
    rest, which rsc.cluster.units takes as they are."""
    if kind not in KINDS:
        raise ValueError(f"rsc.cluster.parts: kind {kind!r} is none of {', '.join(KINDS)}")
    gone = set(missing or ())
    out = []
    for role in roles:
        name = f"{role}_part"
        if name not in host_vars:
            continue
        part = host_vars[name] or {}
        unknown = sorted(set(part) - set(KINDS))
        if unknown:
            raise ValueError(f"{name}: unknown key(s) {', '.join(unknown)}; a part has "
                             f"{', '.join(KINDS)}")
        for entry in part.get(kind) or []:
            if kind == "units":
                if entry.get("requires") in gone:
                    continue
                entry = {k: v for k, v in entry.items() if k != "requires"}
            out.append(entry)
    return out


class FilterModule:
    def filters(self):
        return {"parts": parts}
