#!/usr/bin/python
"""rsc.cluster.files: a host's files and directories written in one module call.

Under qemu's software emulation (the lab's VMs) each module call costs ~5 s of guest CPU
(python start-up, AnsiballZ's imports), and ~0.3 s on a lab container, so the converge role
writes everything every role of site.yml has for a host in one call: files rendered on the
controller, secrets (no_log), checked files (validate) and the directories."""

from __future__ import annotations

DOCUMENTATION = r"""
module: files
short_description: Write many small files and directories in one round trip
description:
  - Writes each file whose content, mode or owner differs, atomically (a temporary file
    renamed over it), creating missing parent directories (0755, root).
  - One call per host instead of three round trips per file (stat, transfer, copy), which is
    most of the time a no-change run of rscctl's roles takes.
  - Supports check mode and diff mode (a secret's content is never shown).
  - A path given twice (two roles writing one file) is refused before anything is written.
options:
  files:
    description: The files to write.
    type: list
    elements: dict
    default: []
    suboptions:
      dest: {description: Path of the file., type: str, required: true}
      content: {description: Its content (rendered on the controller)., type: str, default: ""}
      mode: {description: Octal mode., type: raw, default: "0644"}
      owner: {description: Owner., type: str, default: root}
      group: {description: Group., type: str, default: root}
      validate:
        description: A command run on the new content before it replaces the file, C(%s)
          standing for a temporary copy (as the copy module's); a failure writes nothing.
        type: str
      requires:
        description: Write the file only where this path exists (e.g. C(/run/systemd/system)
          for a unit file); otherwise it is listed in C(skipped_files).
        type: str
      unsafe_writes:
        description: Write in place when renaming over the file fails because it is busy (a
          bind mount, as podman's /etc/hosts and /etc/hostname); unset, O(unsafe_writes).
        type: bool
  secrets:
    description: Files as in O(files) whose content is kept out of logs and diffs (keys).
    type: list
    elements: dict
    default: []
    suboptions:
      dest: {description: Path of the file., type: str, required: true}
      content: {description: Its content., type: str, default: "", no_log: true}
      mode: {description: Octal mode., type: raw, default: "0600"}
      owner: {description: Owner., type: str, default: root}
      group: {description: Group., type: str, default: root}
  directories:
    description: Directories made (with parents) or corrected, before the files.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: The directory., type: str, required: true}
      mode: {description: Octal mode., type: raw, default: "0755"}
      owner: {description: Owner., type: str, default: root}
      group: {description: Group., type: str, default: root}
  unsafe_writes:
    description: For every file that does not set its own C(unsafe_writes).
    type: bool
    default: false
author: rscctl
"""

EXAMPLES = r"""
- name: Write the host's files
  rsc.cluster.files:
    directories:
      - {path: /var/lib/rscctl/firewall, mode: "0700"}
    files:
      - {dest: /etc/hostname, content: "dgx0001\n"}
      - {dest: /var/lib/rscctl/firewall/planned.nft, content: "...", validate: "nft -c -f %s"}
    secrets:
      - {dest: /etc/tlshd/node.key, content: "..."}
"""

RETURN = r"""
changed_files:
  description: The files and directories that were (or in check mode would be) written.
  type: list
  elements: str
  returned: always
skipped_files:
  description: The files not written because their C(requires) path is absent.
  type: list
  elements: str
  returned: always
missing_requires:
  description: The C(requires) paths found absent (the converge role starts no unit that
    requires one).
  type: list
  elements: str
  returned: always
"""

import errno  # noqa: E402
import grp  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

_COMMON = {"mode": {"type": "raw"}, "owner": {"type": "str", "default": "root"},
           "group": {"type": "str", "default": "root"}}
_FILE = {"dest": {"type": "str", "required": True}, "content": {"type": "str", "default": ""},
         **_COMMON, "validate": {"type": "str"}, "requires": {"type": "str"},
         "unsafe_writes": {"type": "bool"}}
_SECRET = {"dest": {"type": "str", "required": True},
           "content": {"type": "str", "default": "", "no_log": True}, **_COMMON}
_DIR = {"path": {"type": "str", "required": True}, **_COMMON}


def _ids(module, spec, what):
    try:
        return (pwd.getpwnam(spec["owner"]).pw_uid, grp.getgrnam(spec["group"]).gr_gid)
    except KeyError as exc:
        module.fail_json(msg=f"{what}: no such user or group {exc}")


def _mode(module, spec, default, what):
    try:
        return int(str(spec["mode"] if spec["mode"] is not None else default), 8)
    except ValueError:
        module.fail_json(msg=f"{what}: mode {spec['mode']!r} is not an octal number")


def _state(dest):
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return None, None
    with open(dest, "rb") as f:
        return f.read(), st


def _validate(module, command, data, parent, dest):
    """Run `command` on a temporary copy of `data`; fail the module if it refuses it. A
    command without `%s` would check something else and pass: refused, as copy does."""
    if "%s" not in command:
        module.fail_json(msg=f"{dest}: validate `{command}` has no %s (the file to check)")
    where = parent if os.path.isdir(parent) else None
    fd, tmp = tempfile.mkstemp(dir=where, prefix=".rsc-check-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        argv = [tmp if a == "%s" else a.replace("%s", tmp) for a in shlex.split(command)]
        res = subprocess.run(argv, capture_output=True, text=True, check=False)
    finally:
        os.unlink(tmp)
    if res.returncode != 0:
        module.fail_json(msg=f"{dest}: `{command}` refused the new content, nothing written: "
                             f"{(res.stderr or res.stdout).strip()[-1500:]}")


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


def _directory(module, spec, changed, diffs):
    path = spec["path"]
    mode = _mode(module, spec, "0755", path)
    uid, gid = _ids(module, spec, path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and (st.st_mode & 0o7777) == mode and (st.st_uid, st.st_gid) == (uid, gid):
        return
    changed.append(path)
    if module._diff:
        was = "absent" if st is None else f"directory {st.st_mode & 0o7777:o}"
        diffs.append({"before_header": path, "after_header": path, "before": was + "\n",
                      "after": f"directory {mode:o}\n"})
    if module.check_mode:
        return
    try:
        os.makedirs(path, mode=0o755, exist_ok=True)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    except OSError as exc:
        module.fail_json(msg=f"{path}: cannot make the directory ({exc.strerror})",
                         changed_files=changed[:-1])


def _file(module, spec, secret, changed, skipped, diffs, missing):
    dest = spec["dest"]
    if spec.get("requires") and not os.path.exists(spec["requires"]):
        skipped.append(dest)
        if spec["requires"] not in missing:
            missing.append(spec["requires"])
        return
    data = (spec["content"] or "").encode("utf-8")
    mode = _mode(module, spec, "0600" if secret else "0644", dest)
    uid, gid = _ids(module, spec, dest)
    try:
        before, st = _state(dest)
    except OSError as exc:
        module.fail_json(msg=f"{dest}: cannot read ({exc.strerror})")
    if (before == data and st is not None and (st.st_mode & 0o7777) == mode
            and st.st_uid == uid and st.st_gid == gid):
        return
    if spec.get("validate") and before != data:
        _validate(module, spec["validate"], data, os.path.dirname(dest) or "/", dest)
    changed.append(dest)
    if module._diff:
        if secret:
            diffs.append({"before_header": dest, "after_header": dest,
                          "before": "(secret, not shown)\n" if st else "",
                          "after": "(secret, not shown)\n"})
        else:
            diffs.append({"before_header": dest, "after_header": dest,
                          "before": (before or b"").decode("utf-8", "replace"),
                          "after": data.decode("utf-8", "replace")})
    if not module.check_mode:
        unsafe = spec.get("unsafe_writes")
        try:
            _write(dest, data, mode, uid, gid,
                   module.params["unsafe_writes"] if unsafe is None else unsafe)
        except OSError as exc:
            module.fail_json(msg=f"{dest}: cannot write ({exc.strerror})",
                             changed_files=changed[:-1])


def main():
    def listing(spec):
        return {"type": "list", "elements": "dict", "default": [], "options": spec}

    module = AnsibleModule(
        argument_spec={"files": listing(_FILE), "secrets": listing(_SECRET),
                       "directories": listing(_DIR),
                       "unsafe_writes": {"type": "bool", "default": False}},
        supports_check_mode=True,
    )
    p = module.params
    twice = duplicates([s["path"] for s in p["directories"]]
                       + [s["dest"] for s in p["files"] + p["secrets"]])
    if twice:
        module.fail_json(msg=f"given twice (two roles write one path?): {', '.join(twice)}; "
                             "nothing written")
    changed, skipped, diffs, missing = [], [], [], []
    for spec in p["directories"]:
        _directory(module, spec, changed, diffs)
    for spec in p["files"]:
        _file(module, spec, False, changed, skipped, diffs, missing)
    for spec in p["secrets"]:
        _file(module, spec, True, changed, skipped, diffs, missing)
    module.exit_json(changed=bool(changed), changed_files=changed, skipped_files=skipped,
                     missing_requires=missing, diff=diffs, invocation=invocation(p))


def invocation(params):
    """The call's arguments as the result shows them (-vvv, ansible-runner's events): every
    entry without its content. Ansible would echo every file back, a host's whole set of
    files (~85 KB on a lab node) in each result, parsed and stored again on the controller."""
    def brief(spec):
        return {k: v for k, v in spec.items() if k != "content" and v is not None}

    return {"module_args": {**{k: [brief(s) for s in params[k]]
                               for k in ("directories", "files", "secrets")},
                            "unsafe_writes": params["unsafe_writes"]}}


def duplicates(paths):
    """The paths given more than once, in first-seen order (normalised: `/a//b` is `/a/b`)."""
    seen, twice = set(), []
    for path in (os.path.normpath(x) for x in paths):
        if path in seen and path not in twice:
            twice.append(path)
        seen.add(path)
    return twice


if __name__ == "__main__":
    main()
