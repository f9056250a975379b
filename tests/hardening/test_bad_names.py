"""Class 1 of issue 9: every name that becomes a host name, DNS label, file name or nft
identifier is checked once, at load, by one rule (rscctl.declare.fields); a pattern is checked
for its placeholders and for the longest value it can produce, growth included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.hardening.refusals import Doc, assert_refused, lab, set_path, small


def _set(base: Callable[[], Doc], dotted: str, value: object) -> Callable[[], Doc]:
    return lambda: set_path(base(), dotted, value)


def _port(model: str, index: int, name: str) -> Callable[[], Doc]:
    def make() -> Doc:
        doc = lab()
        doc["catalog"]["models"][model]["ports"][index]["name"] = name
        return doc
    return make


def _add_row(doc: Doc, name: str) -> Doc:
    doc["floorplan"]["halls"][0]["rows"].append({"name": name, "y": 9})
    return doc


def _server(name: str) -> Callable[[], Doc]:
    return _set(lab, "servers.0.name", name)


# (case, declaration, words of the one message: field path, value or fix)
CASES: list[tuple[str, Callable[[], Doc], list[str]]] = [
    ("node-dotdot", _set(small, "naming", {"node": "../dgx{n:04d}"}),
     ["naming.node", "'../dgx'", "lowercase letters, digits and '-'"]),
    ("node-unknown-placeholder", _set(small, "naming", {"node": "dgx{x}"}),
     ["naming.node: unknown placeholder {x}; use {n}, {su} or {slot}"]),
    ("node-newline", _set(small, "naming", {"node": "dgx{n}\nevil"}),
     ["naming.node", "literal text", "lowercase letters"]),
    ("node-tab", _set(small, "naming", {"node": "dgx\t{n}"}), ["naming.node", "literal text"]),
    ("node-space-alias", _set(small, "naming", {"node": "dgx{n} bastion01"}),
     ["naming.node", "literal text"]),
    ("node-uppercase", _set(small, "naming", {"node": "DGX{n:04d}"}),
     ["naming.node", "'DGX'"]),
    ("node-conversion", _set(small, "naming", {"node": "dgx{n!r}"}),
     ["naming.node", "zero-padded width", "{n:03d}"]),
    ("node-format-spec", _set(small, "naming", {"node": "dgx{n:>9}"}),
     ["naming.node", "zero-padded width"]),
    ("node-attribute", _set(small, "naming", {"node": "dgx{n.real}"}),
     ["naming.node: unknown placeholder {n.real}"]),
    ("node-same-name", _set(small, "naming", {"node": "dgx"}),
     ["naming.node", "same name", "{n}"]),
    ("node-too-long", _set(small, "naming", {"node": "node-{su:030d}-{slot:030d}"}),
     ["naming.node", "66 characters long", "at most 63", "shorten"]),
    ("node-port-dns-too-long", _set(small, "naming", {"node": "dgx{n:057d}"}),
     ["naming.node", "'mlx5_10'", "DNS name", "at most 63"]),
    ("node-unbalanced", _set(small, "naming", {"node": "dgx{n"}),
     ["naming.node", "not a valid pattern"]),
    ("leaf-no-rail", _set(small, "naming", {"leaf": "leaf-s{su:03d}"}),
     ["naming.leaf", "{su} and {rail}"]),
    ("spine-trailing-hyphen", _set(small, "naming", {"spine": "spine{n}-"}),
     ["naming.spine", "'spine4-'", "ends with '-'"]),
    ("port-format-newline", _set(lab, "catalog.models.cs8500.port_format", "L{module}\n{port}"),
     ["catalog.models.cs8500.port_format", "literal text"]),
    ("port-format-unknown", _set(lab, "catalog.models.sn4600.port_format", "swp{rail}"),
     ["catalog.models.sn4600.port_format", "unknown placeholder {rail}"]),
    ("port-name-space", _port("dgx-a100", 0, "mlx5 0"),
     ["catalog.models.dgx-a100.ports[0].name", "not a port name", "mlx5_0"]),
    ("port-name-colon", _port("x86-server", 0, "eth0:evil"),
     ["catalog.models.x86-server.ports[0].name", "not a port name"]),
    ("port-dns-clash", _port("dgx-a100", 12, "mlx5-8"),
     ["'mlx5_8'", "'mlx5-8'", "same DNS name"]),
    ("build-name-dotdot", _set(small, "name", ".."), ["name", "'..'", "RFC 1123"]),
    ("build-name-slash", _set(small, "name", "../../etc"), ["name", "holds './'"]),
    ("build-name-upper", _set(small, "name", "Phase1"), ["name", "'P'"]),
    ("hall-space", _set(small, "floorplan.halls.0.name", "H 1"),
     ["floorplan.halls[0].name", "hall or row name"]),
    ("row-newline", _set(small, "floorplan.halls.0.rows.1.name", "A01\nX"),
     ["floorplan.halls[0].rows[1].name", "letters or digits"]),
    ("server-group-newline", _server("bastion\nevil"), ["servers[0].name", "name prefix"]),
    ("server-group-too-long", _server("b" * 41), ["servers[0].name", "at most 40"]),
    ("storage-group-slash", _set(lab, "storage.systems.0.name", "fa/../x"),
     ["storage.systems[0].name", "not a group name", "e.g. fa"]),
    ("rows-differ-by-case", lambda: _add_row(small(), "a01"), ["row 'a01'", "2 times"]),
    ("domain-empty-label", _set(lab, "dns.domain", "lab..internal"),
     ["dns.domain", "label ''", "rsc.internal"]),
    ("domain-newline", _set(lab, "dns.domain", "lab.internal\nevil IN A 1.2.3.4"),
     ["dns.domain", "label"]),
    ("nameserver-space", _set(lab, "dns.nameservers", ["mgmt01 bastion01"]),
     ["dns.nameservers[0]", "RFC 1123"]),
    ("zone-name-hyphen", _set(lab, "policy.zones.0.name", "the-internet"),
     ["policy.zones[0].name", "not an identifier"]),
    ("flow-name-space", _set(lab, "policy.flows.0.name", "operator ssh"),
     ["policy.flows[0].name", "RFC 1123"]),
    ("ruleset-dotdot", _set(lab, "policy.zones.2.ruleset", "../../etc/x"),
     ["policy.zones[2].ruleset", "RFC 1123"]),
    ("cable-class-newline", _set(lab, "catalog.cables.0.cable_class", "hdr\nx"),
     ["catalog.cables[0].cable_class", "RFC 1123"]),
]


@pytest.mark.parametrize("case,make,words", CASES, ids=[c[0] for c in CASES])
def test_bad_name_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    case: str, make: Callable[[], Doc], words: list[str],
) -> None:
    assert_refused(tmp_path, capsys, make(), words)


def test_model_name_is_a_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Catalog model names reach devices.csv, NetBox and topology files: labels too."""
    doc = lab()
    models = doc["catalog"]["models"]
    models["Evil Model"] = models["x86-server"]
    assert_refused(tmp_path, capsys, doc, ["catalog.models", "'Evil Model'", "RFC 1123"])
