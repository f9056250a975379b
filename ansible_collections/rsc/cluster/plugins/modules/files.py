#!/usr/bin/python
"""rsc.cluster.files: many small files written in one module call (one round trip per host)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: files
short_description: Write many small files in one round trip
description:
  - Writes each file whose content, mode or owner differs, atomically (a temporary file
    renamed over it), creating missing parent directories (0755, root).
  - One call per host instead of three round trips per file (stat, transfer, copy), which is
    most of the time a no-change run of rscctl's roles takes.
  - Supports check mode and diff mode.
options:
  files:
    description: The files, each a dict of C(dest), C(content), C(mode) (octal string,
      default 0644), C(owner) and C(group) (default root).
    type: list
    elements: dict
    required: true
  unsafe_writes:
    description: Write in place when renaming over the file fails because it is busy (a bind
      mount, as podman's /etc/hosts and /etc/hostname).
    type: bool
    default: false
author: rscctl
"""

EXAMPLES = r"""
- name: Write the host's files
  rsc.cluster.files:
    files:
      - {dest: /etc/hostname, content: "dgx0001\n"}
"""

RETURN = r"""
changed_files:
  description: The destinations that were (or in check mode would be) written.
  type: list
  elements: str
  returned: always
"""

import errno  # noqa: E402
import grp  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def _state(dest):
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return None, None
    with open(dest, "rb") as f:
        return f.read(), st


def _write(dest, data, mode, uid, gid, unsafe):
    parent = os.path.dirname(dest) or "/"
    os.makedirs(parent, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=".rsc-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if not (unsafe and exc.errno in (errno.EBUSY, errno.EXDEV)):
            raise
        with open(dest, "wb") as f:
            f.write(data)
        os.chown(dest, uid, gid)
        os.chmod(dest, mode)


def main():
    module = AnsibleModule(
        argument_spec={"files": {"type": "list", "elements": "dict", "required": True},
                       "unsafe_writes": {"type": "bool", "default": False}},
        supports_check_mode=True,
    )
    changed, diffs = [], []
    for spec in module.params["files"]:
        dest = spec["dest"]
        data = spec.get("content", "").encode("utf-8")
        mode = int(str(spec.get("mode", "0644")), 8)
        try:
            uid = pwd.getpwnam(spec.get("owner", "root")).pw_uid
            gid = grp.getgrnam(spec.get("group", "root")).gr_gid
        except KeyError as exc:
            module.fail_json(msg=f"{dest}: no such user or group {exc}")
        try:
            before, st = _state(dest)
        except OSError as exc:
            module.fail_json(msg=f"{dest}: cannot read ({exc.strerror})")
        same = (before == data and st is not None and (st.st_mode & 0o7777) == mode
                and st.st_uid == uid and st.st_gid == gid)
        if same:
            continue
        changed.append(dest)
        if module._diff:
            diffs.append({"before_header": dest, "after_header": dest,
                          "before": (before or b"").decode("utf-8", "replace"),
                          "after": data.decode("utf-8", "replace")})
        if not module.check_mode:
            try:
                _write(dest, data, mode, uid, gid, module.params["unsafe_writes"])
            except OSError as exc:
                module.fail_json(msg=f"{dest}: cannot write ({exc.strerror})",
                                 changed_files=changed[:-1])
    module.exit_json(changed=bool(changed), changed_files=changed, diff=diffs)


if __name__ == "__main__":
    main()
