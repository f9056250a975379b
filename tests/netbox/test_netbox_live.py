"""Against a real NetBox (tests/netbox/harness.py): the CSV route through NetBox's own import
views, `rscctl netbox push` (idempotent, exact, leaves hand-made objects alone, prunes only its
own) and `rscctl netbox diff` (finds a cable edited in NetBox)."""

from __future__ import annotations

import csv
import dataclasses
import http.cookiejar
import io
import re
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from rscctl.export.netbox import netbox_tables
from rscctl.netbox.client import NetBoxClient, Secret
from rscctl.netbox.push import push
from rscctl.netbox.state import TAG, desired, fetch
from rscctl.planjson import read_plan
from rscctl.planner.model import Plan
from tests.netbox import harness
from tests.netbox.conftest import NetBox, rscctl

IMPORT_VIEWS = {  # netbox/ file -> NetBox's bulk-import view, in file order
    "01_sites.csv": "dcim/sites", "02_locations.csv": "dcim/locations",
    "03_racks.csv": "dcim/racks", "04_manufacturers.csv": "dcim/manufacturers",
    "05_device_types.csv": "dcim/device-types", "06_device_roles.csv": "dcim/device-roles",
    "07_devices.csv": "dcim/devices", "08_interfaces.csv": "dcim/interfaces",
    "09_cables.csv": "dcim/cables",
}


def client(nb: NetBox) -> NetBoxClient:
    return NetBoxClient(nb.url, Secret(nb.token))


def count(nbc: NetBoxClient, endpoint: str, **flt: str | int) -> int:
    q = urllib.parse.urlencode({"limit": 1, "brief": 1, **flt})
    return int(nbc.request("GET", f"/api/{endpoint}/?{q}")["count"])


def changelog(nbc: NetBoxClient) -> int:
    return count(nbc, "core/object-changes")


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def _say(lines: list[str]) -> Any:
    return lines.append


# ---- the CSV route: what users do by hand ----------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _browser(url: str) -> tuple[urllib.request.OpenerDirector, str]:
    """Logged in to NetBox's web UI as the admin; returns the opener and the CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    page = opener.open(f"{url}/login/").read().decode()
    m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert m, "no CSRF token on the login page"
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": m.group(1), "username": harness.ADMIN,
                                   "password": harness.ADMIN_PASSWORD, "next": "/"}).encode()
    try:
        opener.open(urllib.request.Request(f"{url}/login/", body, headers={"Referer": url}))
        raise AssertionError("login did not redirect")
    except urllib.error.HTTPError as exc:
        assert exc.code == 302, exc.read()[:2000]
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    return opener, csrf


def _upload(opener: urllib.request.OpenerDirector, csrf: str, url: str, name: str,
            content: bytes) -> None:
    """One file through the import view's 'upload a file' tab (import_method=upload)."""
    boundary = uuid.uuid4().hex
    parts = []
    for k, v in (("csrfmiddlewaretoken", csrf), ("import_method", "upload"), ("format", "csv"),
                 ("csv_delimiter", ",")):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                     f"{v}\r\n".encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="upload_file"; '
                 f'filename="{name}"\r\nContent-Type: text/csv\r\n\r\n'.encode() + content
                 + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    req = urllib.request.Request(url, b"".join(parts), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": url})
    try:
        page = opener.open(req, timeout=600).read().decode()
    except urllib.error.HTTPError as exc:
        assert exc.code == 302, f"{name}: HTTP {exc.code}"
        return
    errors = re.findall(r'class="[^"]*(?:invalid-feedback|alert-danger|text-danger)[^"]*"'
                        r'[^>]*>(.*?)</', page, re.S)
    raise AssertionError(f"{name}: NetBox did not import it: {errors[:5] or page[-1500:]}")


def test_lab_csvs_through_netbox_import_views(netbox: NetBox, lab_out: Path) -> None:
    """The netbox/ files, in file order, through the bulk-import views' upload: every row
    becomes an object, every cable connects its two interfaces."""
    opener, csrf = _browser(netbox.url)
    for name, view in IMPORT_VIEWS.items():
        _upload(opener, csrf, f"{netbox.url}/{view}/import/", name,
                (lab_out / "netbox" / name).read_bytes())
    nbc = client(netbox)
    for name, view in IMPORT_VIEWS.items():
        rows = csv_rows(lab_out / "netbox" / name)
        assert count(nbc, view) == len(rows), name
    cables = csv_rows(lab_out / "netbox/09_cables.csv")
    plan = read_plan(lab_out / "plan.json")
    cur = fetch(nbc, desired(plan)[0])
    got = {label: o.values["ends"] for label, o in cur.objs["cables"].items()}
    assert got == {r["label"]: frozenset({(r["side_a_device"], r["side_a_name"]),
                                          (r["side_b_device"], r["side_b_name"])})
                   for r in cables}
    # What was imported by hand carries no tag: a push refers to it but never edits it.
    lines: list[str] = []
    pp = push(nbc, plan, dry_run=True, prune=False, say=_say(lines))
    assert pp.changes == 0, lines


# ---- push -------------------------------------------------------------------------------

def test_push_lab_then_no_change(pushed_netbox: NetBox, lab_out: Path) -> None:
    """After the first push (the pushed_lab_db fixture: the CLI into an empty NetBox) every
    planned object is there with the tag; a second push writes nothing and says so."""
    netbox = pushed_netbox
    nbc = client(netbox)
    tables = {t.kind: t for t in netbox_tables(read_plan(lab_out / "plan.json"))}
    for kind, endpoint in (("devices", "dcim/devices"), ("interfaces", "dcim/interfaces"),
                           ("cables", "dcim/cables"), ("racks", "dcim/racks")):
        assert count(nbc, endpoint, tag=TAG) == len(tables[kind].rows), kind
    before = changelog(nbc)
    again = rscctl("netbox", "push", "lab", "--out", str(lab_out), "--url", netbox.url,
                   "--token-file", str(netbox.token_file))
    assert again.returncode == 0, again.stderr
    assert "no change" in again.stdout, again.stdout
    assert changelog(nbc) == before  # nothing written at all
    d = rscctl("netbox", "diff", "lab", "--out", str(lab_out), "--url", netbox.url,
               "--token-file", str(netbox.token_file))
    assert d.returncode == 0, d.stdout + d.stderr
    assert "agrees" in d.stdout


def test_dry_run_lists_per_type_and_writes_nothing(netbox: NetBox, lab_out: Path) -> None:
    nbc = client(netbox)
    before = changelog(nbc)
    r = rscctl("netbox", "push", "lab", "--out", str(lab_out), "--url", netbox.url,
               "--dry-run", env={"RSCCTL_NETBOX_TOKEN": netbox.token})
    assert r.returncode == 0, r.stderr
    assert re.search(r"^devices: 65 would be created", r.stdout, re.M), r.stdout
    assert re.search(r"^cables: \d+ would be created", r.stdout, re.M)
    assert "  + dgx" in r.stdout
    assert changelog(nbc) == before
    assert count(nbc, "dcim/devices") == 0


def _move_one_cable(plan: Plan) -> tuple[Plan, str, tuple[str, str], tuple[str, str]]:
    """The plan with one cable's B end on a free port of the same device and kind."""
    tables = {t.kind: t for t in netbox_tables(plan)}
    cabled = {(c.a_device, c.a_port) for c in plan.cables} | {
        (c.b_device, c.b_port) for c in plan.cables}
    ifaces = {(r["device"], r["name"]): r for r in tables["interfaces"].records()}
    for i, c in enumerate(plan.cables):
        old = ifaces[(c.b_device, c.b_port)]
        for (dev, port), row in ifaces.items():
            if dev == c.b_device and (dev, port) not in cabled and row["type"] == old["type"]:
                moved = dataclasses.replace(c, b_port=port)
                cables = (*plan.cables[:i], moved, *plan.cables[i + 1:])
                return (dataclasses.replace(plan, cables=cables), c.cable_id,
                        (c.b_device, c.b_port), (dev, port))
    raise AssertionError("no cable with a free port of its kind beside it")


def test_moved_cable_pushes_exactly_that_change(pushed_netbox: NetBox, lab_out: Path) -> None:
    netbox = pushed_netbox
    nbc = client(netbox)
    plan = read_plan(lab_out / "plan.json")
    site = desired(plan)[0]
    ids = {k: o.id for k, o in fetch(nbc, site).objs["cables"].items()}
    changed, label, old_end, new_end = _move_one_cable(plan)
    lines: list[str] = []
    pp = push(nbc, changed, dry_run=False, prune=False, say=_say(lines))
    assert pp.changes == 1, lines
    assert [c.key for c in pp.kinds["cables"].update] == [label]
    assert pp.kinds["cables"].update[0].fields == ("ends",)
    cur = fetch(nbc, site)
    cable = cur.objs["cables"][label]
    assert cable.id == ids[label]  # patched in place, not made again
    assert new_end in cable.values["ends"] and old_end not in cable.values["ends"]
    assert {k: o.id for k, o in cur.objs["cables"].items()} == ids
    assert push(nbc, changed, dry_run=True, prune=False, say=_say([])).changes == 0


def test_hand_made_objects_survive_push_and_prune(pushed_netbox: NetBox, lab_out: Path) -> None:
    netbox = pushed_netbox
    nbc = client(netbox)
    plan = read_plan(lab_out / "plan.json")
    cur = fetch(nbc, desired(plan)[0])
    site_id = cur.site_id
    some = next(iter(cur.objs["devices"].values()))
    dev = some.values
    rack = cur.objs["racks"][dev["rack"]].id
    role = cur.objs["device_roles"][dev["role"]].id
    dtype = cur.objs["device_types"][dev["device_type"]].id
    # By hand (no tag): two console servers with a cable between them, a changed description.
    hand = nbc.create("dcim/devices", [
        {"name": f"console-{i}", "site": site_id, "rack": rack, "role": role,
         "device_type": dtype, "status": "active", "description": "by hand"} for i in (1, 2)])
    ifs = nbc.create("dcim/interfaces", [
        {"device": h["id"], "name": "eth0", "type": "1000base-t"} for h in hand])
    nbc.create("dcim/cables", [{
        "a_terminations": [{"object_type": "dcim.interface", "object_id": ifs[0]["id"]}],
        "b_terminations": [{"object_type": "dcim.interface", "object_id": ifs[1]["id"]}],
        "label": "HAND-1", "status": "connected"}])
    # rscctl's, but no longer planned: a tagged device; --prune removes it, nothing else.
    stale = nbc.create("dcim/devices", [{
        "name": "stale-node", "site": site_id, "role": role, "device_type": dtype,
        "status": "planned", "tags": [{"slug": TAG}]}])[0]
    lines: list[str] = []
    pp = push(nbc, plan, dry_run=False, prune=False, say=_say(lines))
    assert pp.changes == 0 and pp.kinds["devices"].stale == 1, lines
    pp = push(nbc, plan, dry_run=False, prune=True, say=_say(lines))
    assert [c.key[1] for c in pp.kinds["devices"].delete] == ["stale-node"], lines
    assert pp.changes == 1
    after = fetch(nbc, desired(plan)[0])
    assert {"console-1", "console-2"} <= {k[1] for k in after.objs["devices"]}
    assert stale["id"] not in {o.id for o in after.objs["devices"].values()}
    assert "HAND-1" in after.objs["cables"]
    assert after.objs["devices"][(desired(plan)[0], "console-1")].values["description"] \
        == "by hand"


def test_diff_finds_a_cable_edited_in_netbox(pushed_netbox: NetBox, lab_out: Path) -> None:
    netbox = pushed_netbox
    nbc = client(netbox)
    plan = read_plan(lab_out / "plan.json")
    _changed, label, old_end, new_end = _move_one_cable(plan)
    cur = fetch(nbc, desired(plan)[0])
    cable = cur.objs["cables"][label]
    # Someone recabled in NetBox: the B end onto the free port, and marked it connected.
    nbc.update("dcim/cables", [{
        "id": cable.id, "status": "connected",
        "b_terminations": [{"object_type": "dcim.interface",
                            "object_id": cur.objs["interfaces"][new_end].id}]}])
    args = ("netbox", "diff", "lab", "--out", str(lab_out), "--url", netbox.url,
            "--token-file", str(netbox.token_file))
    r = rscctl(*args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"cable {label} connects" in r.stderr
    assert f"{new_end[0]}:{new_end[1]}" in r.stderr and f"{old_end[0]}:{old_end[1]}" in r.stderr
    assert r.stderr.count("[netbox-cable]") == 1, r.stderr
    # A connected cable NetBox has and the plan does not is a finding too.
    free = [k for k, o in cur.objs["interfaces"].items()
            if k not in cur.cable_on and k != new_end][:2]
    nbc.create("dcim/cables", [{
        "a_terminations": [{"object_type": "dcim.interface",
                            "object_id": cur.objs["interfaces"][free[0]].id}],
        "b_terminations": [{"object_type": "dcim.interface",
                            "object_id": cur.objs["interfaces"][free[1]].id}],
        "label": "EXTRA-1", "status": "connected"}])
    r = rscctl(*args)
    assert r.returncode == 1
    assert "cable EXTRA-1" in r.stderr and "not in the plan" in r.stderr
    # A push brings it back to the plan (the extra cable is not rscctl's: it stays).
    back = rscctl("netbox", "push", "lab", "--out", str(lab_out), "--url", netbox.url,
                  "--token-file", str(netbox.token_file))
    assert back.returncode == 0, back.stderr
    assert "cables: 1 updated (ends)" in back.stdout, back.stdout
