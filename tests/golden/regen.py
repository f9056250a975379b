"""Golden files of every output kind, for the small build tests/golden/small.yaml.

    make golden            # = .venv/bin/python -m tests.golden.regen

plans small.yaml, renders each kind registered in rscctl.export.EXPORTERS on its own, writes
its files under tests/golden/<kind>/ (stale ones removed) and prints what changed in git, to
review and commit with the change that intended it. tests/test_golden.py compares a fresh
render with these files.

What is stored: every file, except that of a family of like files (one per host, server port,
rack row, group) only one is kept (FAMILIES), so the goldens stay small (< 1 MB) and reviewable.
cabling.xlsx and labels.pdf are stored as text (`.txt`): every zip member with its metadata and
its XML broken into lines, every PDF object with its stream inflated; the compressed bytes
depend on the zlib build, what they hold does not.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent
ROOT = GOLDEN.parents[1]
BUILD = GOLDEN / "small.yaml"
REGEN = "make golden  (or: .venv/bin/python -m tests.golden.regen)"

# Families of like files (prefix -> the one kept; the first sorted when that one is gone).
FAMILIES = {
    "ansible/inventory/host_vars/": "ansible/inventory/host_vars/dgx0001.yml",
    "ansible/inventory/group_vars/": "ansible/inventory/group_vars/gpu_node/firewall.json",
    "nfs/units/": "",
    "firewall/vars/": "firewall/vars/gpu-node.json",
    "drawings/racks-": "drawings/racks-G1-A01.svg",
}

# Where a line break goes in an XLSX part: before each of these elements.
_XML_BREAKS = re.compile(
    r"(?=<(?:row|si|col |sheet |definedName|hyperlink|Override|Default|Relationship|xf |"
    r"font>|fill>|border>|sheetView|sheetData|/sheetData|cols|pageMargins|pageSetup|"
    r"autoFilter|headerFooter|dimension|sheetFormatPr|sheetPr|cellXfs|cellStyle)\b)")


def xlsx_text(data: bytes) -> bytes:
    """Each zip member: its name, date, compression and mode, then its XML one element a line."""
    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            out.append(f"== {info.filename} date={info.date_time} compress={info.compress_type} "
                       f"mode={info.external_attr >> 16:o}")
            out.append(_XML_BREAKS.sub("\n", z.read(info).decode("utf-8")))
    return ("\n".join(out) + "\n").encode("utf-8")


_OBJ = re.compile(rb"(\d+) 0 obj\n")


def pdf_text(data: bytes) -> bytes:
    """Every object in order, streams inflated and /Length left out; the xref is checked (each
    offset must point at its object) rather than stored, since offsets follow the compressed
    lengths."""
    out = [data[:data.index(b"\n")].decode("latin-1")]
    pos = data.index(b"\n", len(out[0]) + 1) + 1
    offsets = []
    while m := _OBJ.match(data, pos):
        offsets.append(pos)
        body_start = m.end()
        length = re.match(rb"<< /Length (\d+) /Filter /FlateDecode >>\nstream\n",
                          data[body_start:])
        if length:
            start = body_start + length.end()
            end = start + int(length.group(1))
            stream = zlib.decompress(data[start:end]).decode("latin-1")
            out.append(f"{m.group(1).decode()} 0 obj stream FlateDecode\n{stream}")
            pos = data.index(b"\nendobj\n", end) + len(b"\nendobj\n")
        else:
            end = data.index(b"\nendobj\n", body_start)
            out.append(f"{m.group(1).decode()} 0 obj {data[body_start:end].decode('latin-1')}")
            pos = end + len(b"\nendobj\n")
    xref, trailer = data[pos:].split(b"trailer\n", 1)
    listed = [int(line[:10]) for line in xref.decode().splitlines()[3:]]
    if listed != offsets:
        raise ValueError(f"PDF xref offsets {listed[:5]}... do not point at the objects")
    out.append("trailer " + trailer.split(b"\nstartxref")[0].decode("latin-1"))
    return ("\n".join(out) + "\n").encode("latin-1")


def _kept(paths: list[str]) -> list[str]:
    """Every path but the other members of each family."""
    members: dict[str, list[str]] = {}
    kept = []
    for path in sorted(paths):
        family = next((f for f in FAMILIES if path.startswith(f)), None)
        if family is None:
            kept.append(path)
        else:
            members.setdefault(family, []).append(path)
    for family, names in members.items():
        kept.append(FAMILIES[family] if FAMILIES[family] in names else names[0])
    return sorted(kept)


def fresh() -> dict[str, bytes]:
    """tests/golden-relative path -> bytes, rendered now from small.yaml, kind by kind."""
    from rscctl.declare import load_build
    from rscctl.export import EXPORTERS
    from rscctl.planner import build_plan

    plan = build_plan(load_build(str(BUILD)))
    out: dict[str, bytes] = {}
    for kind, exporter in EXPORTERS.items():
        files = exporter(plan)
        for path in _kept(list(files)):
            data = files[path]
            if path.endswith(".xlsx"):
                path, data = path + ".txt", xlsx_text(data)
            elif path.endswith(".pdf"):
                path, data = path + ".txt", pdf_text(data)
            out[f"{kind}/{path}"] = data
    return out


def stored(kinds: list[str] | None = None) -> dict[str, bytes]:
    """The golden files now in tests/golden/<kind>/ (for every kind, or the given ones)."""
    from rscctl.export import EXPORTERS

    out = {}
    for kind in kinds or list(EXPORTERS):
        for p in sorted((GOLDEN / kind).rglob("*")):
            if p.is_file():
                out[p.relative_to(GOLDEN).as_posix()] = p.read_bytes()
    return out


def main() -> int:
    files = fresh()
    stale = set(stored()) - set(files)
    for rel in stale:
        (GOLDEN / rel).unlink()
    written = 0
    for rel, data in files.items():
        path = GOLDEN / rel
        if not path.exists() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written += 1
    for d in sorted(GOLDEN.rglob("*"), reverse=True):
        if d.is_dir() and d.name != "__pycache__" and not any(d.iterdir()):
            d.rmdir()
    total = sum(map(len, files.values()))
    print(f"tests/golden: {len(files)} files, {total / 1e3:.0f} kB, from {BUILD.name}: "
          f"{written} written, {len(stale)} removed, the rest unchanged")
    rel = GOLDEN.relative_to(ROOT).as_posix()
    for args in (["diff", "--stat", "--", rel], ["status", "--short", "--", rel]):
        subprocess.run(["git", *args], cwd=ROOT, check=False)
    print("review with `git diff -- tests/golden`, commit with the change that intended it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
