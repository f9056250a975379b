"""Class 2 of issue 9, the load side: free text that reaches systemd units, tlshd's ini file,
zones and CSVs has a type per kind (rscctl.declare.fields): mount options by their grammar,
paths absolute and normalised, mount points off the system directories and distinct, text
without control characters and of bounded length."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.hardening.refusals import Doc, assert_refused, lab, set_path

OPTS = ["vers=4.2", "proto=tcp", "xprtsec=mtls", "hard", "_netdev"]


def _set(dotted: str, value: object) -> Callable[[], Doc]:
    return lambda: set_path(lab(), dotted, value)


def _nfs(field: str, value: object) -> Callable[[], Doc]:
    def make() -> Doc:
        doc = lab()
        doc["storage"]["nfs"] = {field: value}
        return doc
    return make


def _model(field: str, value: object, model: str = "dgx-a100") -> Callable[[], Doc]:
    return lambda: set_path(lab(), f"catalog.models.{model}.{field}", value)


def _second_group(**fields: object) -> Callable[[], Doc]:
    def make() -> Doc:
        doc = lab()
        doc["storage"]["systems"].append(
            {"name": "fb", "model": "pure-flashblade", "count": 1, "rows": ["ST1"], **fields})
        return doc
    return make


CASES: list[tuple[str, Callable[[], Doc], list[str]]] = [
    ("option-comma", _nfs("mount_options", [*OPTS, "rw,suid"]),
     ["storage.nfs.mount_options[5]", "not a mount option", "no comma"]),
    ("option-newline-what", _nfs("mount_options", [*OPTS, "hard\nWhat=/evil"]),
     ["storage.nfs.mount_options[5]", "not a mount option", "vers=4.2"]),
    ("option-space", _nfs("mount_options", [*OPTS, "soft timeo=1"]),
     ["storage.nfs.mount_options[5]", "no comma, space or newline"]),
    ("option-dash", _nfs("mount_options", [*OPTS, "-oremount"]),
     ["storage.nfs.mount_options[5]", "not a mount option"]),
    ("ca-path-relative", _nfs("ca_path", "etc/tlshd/ca.pem"),
     ["storage.nfs.ca_path", "absolute normalised path"]),
    ("ca-path-dotdot", _nfs("ca_path", "/etc/tlshd/../shadow"),
     ["storage.nfs.ca_path", "no '..'"]),
    ("cert-path-newline", _nfs("cert_path", "/etc/tlshd/node.pem\n[authenticate]"),
     ["storage.nfs.cert_path", "absolute normalised path"]),
    ("key-path-space", _nfs("key_path", "/etc/tlshd/node key"),
     ["storage.nfs.key_path", "absolute normalised path"]),
    ("key-path-double-slash", _nfs("key_path", "/etc//tlshd/node.key"),
     ["storage.nfs.key_path", "'//'"]),
    ("mount-root", _set("storage.systems.0.mount_point", "/"),
     ["storage.systems[0].mount_point", "system directory", "/mnt/checkpoints"]),
    ("mount-etc", _set("storage.systems.0.mount_point", "/etc"),
     ["storage.systems[0].mount_point", "'/etc' is a system directory"]),
    ("mount-under-usr", _set("storage.systems.0.mount_point", "/usr/local/data"),
     ["storage.systems[0].mount_point", "system directory"]),
    ("mount-var", _set("storage.systems.0.mount_point", "/var"),
     ["storage.systems[0].mount_point", "system directory"]),
    ("mount-newline", _set("storage.systems.0.mount_point", "/mnt/data\nWhat=/x"),
     ["storage.systems[0].mount_point", "absolute normalised path"]),
    ("mount-trailing-slash", _set("storage.systems.0.mount_point", "/mnt/data/"),
     ["storage.systems[0].mount_point", "trailing '/'"]),
    ("mount-duplicate", _second_group(export="/datasets", mount_point="/mnt/checkpoints"),
     ["storage.systems[1].mount_point", "/mnt/checkpoints", "storage.systems[0]",
      "its own mount_point"]),
    ("mount-default-clash", _second_group(export="/checkpoints"),
     ["storage.systems[1].mount_point", "/mnt/checkpoints", "its own mount_point"]),
    ("mount-default-system", _set("storage.systems.0", {
        "name": "fa", "model": "pure-fa-xl170", "count": 1, "rows": ["ST1"], "export": "/"}),
     ["storage.systems[0].mount_point", "default /mnt/EXPORT gives '/mnt/'"]),
    ("export-dotdot", _set("storage.systems.0.export", "/checkpoints/../etc"),
     ["storage.systems[0].export", "no '..'"]),
    ("export-relative", _set("storage.systems.0.export", "checkpoints"),
     ["storage.systems[0].export", "absolute normalised path"]),
    ("site-newline", _set("site", "RSC\nevil"), ["site", "U+000A", "one line"]),
    ("site-edge-space", _set("site", " RSC"), ["site", "starts or ends with a space"]),
    ("description-escape", _set("description", "lab \x1b[31mred"), ["description", "U+001B"]),
    ("description-tab", _set("storage.systems.0.description", "Flash\tArray"),
     ["storage.systems[0].description", "U+0009"]),
    ("description-bidi", _model("description", "DGX \u202eA100"),
     ["catalog.models.dgx-a100.description", "U+202E"]),
    ("description-line-separator", _set("networks.inband.description", "in-band\u2028x"),
     ["networks.inband.description", "U+2028"]),
    ("description-too-long", _model("description", "x" * 1000),
     ["catalog.models.dgx-a100.description", "1000 characters long", "at most 256"]),
    ("part-number-formula", _model("part_number", "=HYPERLINK(\"http://x\")"),
     ["catalog.models.dgx-a100.part_number", "not a part number"]),
    ("part-number-space", _set("catalog.cables.0.parts", {1: "MCP1650 H001E30"}),
     ["catalog.cables[0].parts[1]", "not a part number"]),
    ("transceiver-newline", _set("catalog.cables.2.transceiver", "MMA1T00-HS\nx"),
     ["catalog.cables[2].transceiver", "not a part number"]),
    ("vendor-cr", _model("vendor", "NVIDIA\r"), ["catalog.models.dgx-a100.vendor", "U+000D"]),
    ("role-pattern-newline", _set("policy.zones.2.roles", ["management-host\nx"]),
     ["policy.zones[2].roles[0]", "not a role pattern"]),
]


@pytest.mark.parametrize("case,make,words", CASES, ids=[c[0] for c in CASES])
def test_bad_text_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    case: str, make: Callable[[], Doc], words: list[str],
) -> None:
    assert_refused(tmp_path, capsys, make(), words)
