"""Hostile names and free text: refused at load, or every rendered file passes its own consumer.

Hypothesis puts a value drawn from all of Unicode (control characters, separators, quotes,
`%`, `../`, formula prefixes...) into one field of a small build with every kind of output
(the lab build with phase 1's policy and DNS), runs `rscctl plan`, and requires one of two
outcomes:

- refused: exit 2, one `error:` message, no traceback, nothing written under --out;
- planned (exit 0): every file is accepted by the program that reads it, and says only what
  it should: `nft -c -f` for each ruleset, `named-checkzone` for each zone (and the forward
  zone holds exactly one A record per name), `systemd-analyze verify` for each mount unit (no
  warning, each key once, Where= the unit's path), `ssh -G` for the lab's ssh_config, Python's
  csv reader (every row as wide as its header, no cell a formula), html.parser for index.html
  (balanced tags, one script per script the template has), and /etc/hosts lines that hold
  FQDN/short pairs only.

systemd-analyze verify runs without systemd as PID 1 (it loads the unit from its own
directory); the units Require tlshd.service, so a stub of it is written beside the copy.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rscctl.cli import main
from tests.conftest import TOPOLOGY, write_build

TARGETED = ["\n", "\t", " ", "../", "%", "'", '"', "=cmd", "\x00", "\u2028", "\\", "#",
            "-x", "@x", "+1", "a\nWhat=/etc", "x;y", "<script>", "%n", "a b", "\r", "é",
            "x" * 70, "}", "{", "$(id)", "*", ","]


def base_doc(tmp: Path) -> dict[str, Any]:
    """The lab build (8 DGX, storage, servers) with phase 1's DNS, policy and a site."""
    lab = yaml.safe_load((TOPOLOGY / "lab.yaml").read_text())
    phase1 = yaml.safe_load((TOPOLOGY / "phase1.yaml").read_text())
    lab["catalog"] = str(TOPOLOGY / "catalog.yaml")
    lab["site"] = "LAB"
    lab["dns"] = {"domain": "rsc.internal", "serial": 1, "nameservers": ["mgmt01"]}
    lab["policy"] = phase1["policy"]
    lab["storage"]["nfs"] = {"ca_path": "/etc/tlshd/rsc-ca.pem"}
    return lab


def _catalog_with(tmp: Path, doc: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    cat = yaml.safe_load((TOPOLOGY / "catalog.yaml").read_text())
    node: Any = cat
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    target = tmp / "catalog.yaml"
    target.write_text(yaml.safe_dump(cat, sort_keys=False, allow_unicode=True))
    doc["catalog"] = str(target)


def set_field(tmp: Path, doc: dict[str, Any], field: str, v: str) -> None:
    """Put `v` into one field of the declaration, as a user would write it there."""
    fa = doc["storage"]["systems"][0]
    pol = doc["policy"]
    setters = {
        "name": lambda: doc.__setitem__("name", v),
        "site": lambda: doc.__setitem__("site", v),
        "description": lambda: doc.__setitem__("description", v),
        "naming.node": lambda: doc.setdefault("naming", {}).__setitem__("node", v + "{n:04d}"),
        "naming.leaf": lambda: doc.setdefault("naming", {}).__setitem__(
            "leaf", v + "-s{su:03d}-r{rail}"),
        "naming.spine": lambda: doc.setdefault("naming", {}).__setitem__("spine", v + "{n:02d}"),
        "servers.name": lambda: doc["servers"][0].__setitem__("name", v),
        "servers.role": lambda: doc["servers"][1].__setitem__("role", v),
        "hall": lambda: doc["floorplan"]["halls"][0].__setitem__("name", v),
        "row": lambda: doc["floorplan"]["halls"][0]["rows"][2].__setitem__("name", v),
        "networks.description": lambda: doc["networks"]["inband"].__setitem__("description", v),
        "storage.name": lambda: fa.__setitem__("name", v),
        "storage.description": lambda: fa.__setitem__("description", v),
        "storage.export": lambda: fa.__setitem__("export", "/" + v),
        "storage.mount_point": lambda: fa.__setitem__("mount_point", "/mnt/" + v),
        "storage.mount_point.raw": lambda: fa.__setitem__("mount_point", v),
        "nfs.mount_options": lambda: doc["storage"]["nfs"].__setitem__(
            "mount_options", ["vers=4.2", "proto=tcp", "xprtsec=mtls", "hard", v]),
        "nfs.ca_path": lambda: doc["storage"]["nfs"].__setitem__("ca_path", "/etc/tlshd/" + v),
        "dns.domain": lambda: doc["dns"].__setitem__("domain", v + ".internal"),
        "dns.nameservers": lambda: doc["dns"].__setitem__("nameservers", [v]),
        "zone.name": lambda: _rename_zone(pol, "bastion", v),
        "zone.ruleset": lambda: pol["zones"][3].__setitem__("ruleset", v),
        "zone.description": lambda: pol["zones"][0].__setitem__("description", v),
        "flow.name": lambda: pol["flows"][0].__setitem__("name", v),
        "flow.description": lambda: pol["flows"][0].__setitem__("description", v),
        "drop_log.prefix": lambda: pol.setdefault("drop_log", {}).__setitem__("prefix", v),
        "catalog.part_number": lambda: _catalog_with(tmp, doc, ("models", "dgx-a100",
                                                                "part_number"), v),
        "catalog.description": lambda: _catalog_with(tmp, doc, ("models", "dgx-a100",
                                                                "description"), v),
    }
    setters[field]()


def _rename_zone(pol: dict[str, Any], old: str, new: str) -> None:
    for z in pol["zones"]:
        if z["name"] == old:
            z["name"] = new
    for f in pol["flows"]:
        for end in ("from", "to"):
            ends = f[end] if isinstance(f[end], list) else [f[end]]
            f[end] = [new if e == old else e for e in ends]


FIELDS = ["name", "site", "description", "naming.node", "naming.leaf", "naming.spine",
          "servers.name", "servers.role", "hall", "row", "networks.description",
          "storage.name", "storage.description", "storage.export", "storage.mount_point",
          "storage.mount_point.raw", "nfs.mount_options", "nfs.ca_path", "dns.domain",
          "dns.nameservers", "zone.name", "zone.ruleset", "zone.description", "flow.name",
          "flow.description", "drop_log.prefix", "catalog.part_number", "catalog.description"]

values = st.one_of(st.sampled_from(TARGETED), st.text(max_size=20),
                   st.builds(lambda a, b: a + b, st.sampled_from(TARGETED), st.text(max_size=6)))


# --- consumers -------------------------------------------------------------------------------

def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def check_nft(out: Path) -> None:
    for f in sorted((out / "firewall").glob("*.nft")):
        res = _run("nft", "-c", "-f", str(f))
        assert res.returncode == 0, f"{f.name}: {res.stderr[:600]}"


def check_zones(out: Path) -> None:
    conf = (out / "dns" / "named.conf.zones").read_text()
    zones = re.findall(r'zone "([^"]+)" \{\n\ttype primary;\n\tfile "[^"]*/([^"/]+)";', conf)
    assert zones and len(zones) == conf.count("zone "), conf[:400]
    plan_names = _names_from_hosts(out)
    for origin, file in zones:
        res = _run("named-checkzone", "-k", "fail", "-D", origin, str(out / "dns" / file))
        assert res.returncode == 0, f"{file}: {res.stdout[-600:]}"
        if file == zones[0][1]:  # the forward zone: one A record per host name, no more
            a_records = [ln for ln in res.stdout.splitlines() if "\tIN A\t" in ln
                         or re.search(r"\sIN\s+A\s", ln)]
            assert len(a_records) == len(plan_names), (len(a_records), len(plan_names))


def _names_from_hosts(out: Path) -> list[str]:
    """Short names of the hosts file, after checking each line holds FQDN/short pairs."""
    domain = (out / "dns" / "named.conf.zones").read_text().split('zone "', 1)[1].split('"')[0]
    names = []
    for line in (out / "hosts").read_text().splitlines():
        if line.startswith("#") or line.split("\t")[0] in ("127.0.0.1", "::1"):
            continue
        _addr, rest = line.split("\t")
        words = rest.split(" ")
        assert len(words) % 2 == 0, line
        for fq, short in zip(words[::2], words[1::2], strict=True):
            assert fq == f"{short}.{domain}", line
            assert re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", short), line
            names.append(short)
    return names


UNIT_KEYS = {"Unit": ["Description", "Requires", "After", "Wants"],
             "Mount": ["What", "Where", "Type", "Options", "TimeoutSec"],
             "Install": ["WantedBy"]}


def check_units(out: Path, tmp: Path) -> None:
    for f in sorted((out / "nfs" / "units").glob("*/*.mount")):
        text = f.read_text()
        assert "\\\n" not in text, f
        keys: dict[str, list[str]] = {}
        section = ""
        for line in text.splitlines():
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                keys[section] = []
            elif line and not line.startswith("#"):
                keys[section].append(line.split("=", 1)[0])
        assert keys == UNIT_KEYS, (f, keys)
        where = re.search(r"^Where=(.*)$", text, re.M)
        assert where
        res = _run("systemd-escape", "--path", "--suffix=mount",
                   where.group(1).replace("%%", "%"))
        assert res.returncode == 0 and res.stdout.strip() == f.name, (f, res)
        work = tmp / "units"
        work.mkdir(exist_ok=True)
        (work / "tlshd.service").write_text("[Service]\nExecStart=/bin/true\n")
        copy_ = work / f.name
        copy_.write_text(text)
        res = _run("systemd-analyze", "verify", "--man=no", str(copy_))
        assert res.returncode == 0 and not res.stderr.strip(), (f, res.stderr[:600])


def check_csv(out: Path) -> None:
    files = sorted(out.glob("*.csv")) + sorted(out.glob("*/*.csv"))
    assert files
    for f in files:
        rows = list(csv.reader(io.StringIO(f.read_text(), newline="")))
        assert rows, f
        width = len(rows[0])
        for row in rows:
            assert len(row) == width, (f, row)
            for cell in row:
                if f.parent.name in ("netbox", "nfs") or f.name in ("devices.csv",
                                                                     "cabling.csv",
                                                                     "bom.csv",
                                                                     "addresses.csv"):
                    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (f, cell)


class _Tags(HTMLParser):
    VOID: ClassVar[set[str]] = {
        "meta", "link", "br", "hr", "img", "input", "col", "area", "base", "wbr", "source",
        "path", "rect", "line", "circle", "polyline", "polygon", "use", "stop",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def check_html(out: Path, scripts: int) -> None:
    p = _Tags()
    p.feed((out / "index.html").read_text())
    p.close()
    assert p.stack == [], p.stack[-5:]
    assert p.scripts == scripts, p.scripts


def check_ssh_config(out: Path, tmp: Path) -> None:
    """Render the lab's ssh_config of this build (no containers) and ask ssh what it means."""
    from rscctl.declare import load_build
    from rscctl.lab import access
    from rscctl.lab.hosts import lab_layout
    from rscctl.planner import build_plan

    build = load_build(str(tmp / "build.yaml"))
    layout = lab_layout(build, build_plan(build))
    state = tmp / "state"
    state.mkdir(exist_ok=True)
    keys = {str(h.address): "ssh-ed25519 AAAA" for h in layout.hosts}
    access.write_access(state, "t", layout, keys, access.proxy_command(Path("/run/netns/x")))
    for h in layout.hosts:
        res = _run("ssh", "-G", "-F", str(state / "ssh_config"), h.name)
        assert res.returncode == 0, res.stderr
        assert f"\nhostname {h.address}\n" in res.stdout, h.name
        assert f"\nidentityfile {state.resolve()}/id_ed25519\n" in res.stdout


# --- the property ----------------------------------------------------------------------------

def plan(tmp: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = write_build(tmp, doc)
    with contextlib.suppress(Exception):
        capsys.readouterr()
    rc = main(["plan", str(path), "--out", str(tmp / "out")])
    cap = capsys.readouterr()
    return rc, cap.err + cap.out


def check_outcome(tmp: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str],
                  scripts: int) -> int:
    out = tmp / "out"
    rc, text = plan(tmp, doc, capsys)
    assert "Traceback" not in text, text[-2000:]
    if rc == 2:
        assert text.count("error:") == 1, text
        assert not out.exists(), sorted(p.name for p in out.iterdir())
        assert not (tmp / "plan.json").exists()
        return rc
    assert rc == 0, text[-2000:]
    check_csv(out)
    check_nft(out)
    check_zones(out)
    check_units(out, tmp)
    check_html(out, scripts)
    check_ssh_config(out, tmp)
    return rc


@pytest.fixture(scope="module")
def baseline_scripts(tmp_path_factory: pytest.TempPathFactory) -> int:
    """How many <script> elements index.html has for the unmodified build."""
    tmp = tmp_path_factory.mktemp("base")
    path = write_build(tmp, base_doc(tmp))
    assert main(["plan", str(path), "--out", str(tmp / "out")]) == 0
    p = _Tags()
    p.feed((tmp / "out" / "index.html").read_text())
    return p.scripts


def test_base_build_passes_every_consumer(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          baseline_scripts: int) -> None:
    assert check_outcome(tmp_path, base_doc(tmp_path), capsys, baseline_scripts) == 0


# RSCCTL_HYPOTHESIS_EXAMPLES=500 for a long local run; 25 keep the suite quick.
@settings(max_examples=int(os.environ.get("RSCCTL_HYPOTHESIS_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=values)
def test_hostile_field_refused_or_accepted(tmp_path_factory: pytest.TempPathFactory,
                                           capsys: pytest.CaptureFixture[str],
                                           baseline_scripts: int, field: str,
                                           value: str) -> None:
    tmp = tmp_path_factory.mktemp("h")
    doc = copy.deepcopy(base_doc(tmp))
    set_field(tmp, doc, field, value)
    check_outcome(tmp, doc, capsys, baseline_scripts)
