"""Run the stack program under Pulumi's own mocks and keep what it registered.

The MockMonitor subclass records each registration's parent and which inputs were secrets
(the plain mock deserializes them away), so tests can assert both.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pulumi.runtime import mocks, rpc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "stacks"))

SECRET_SIG = rpc._special_sig_key
SECRET_VALUE = rpc._special_secret_sig


@dataclass
class Registered:
    urn: str
    typ: str
    name: str
    parent: str
    inputs: dict[str, Any]
    secret_paths: set[str] = field(default_factory=set)


def _secret_paths(value: Any, path: str = "") -> set[str]:
    """Dotted paths of the secret values inside a deserialized (unwrapped) struct."""
    out: set[str] = set()
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE:
            return {path}
        for k, v in value.items():
            out |= _secret_paths(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out |= _secret_paths(v, f"{path}[{i}]")
    return out


class Recorder(mocks.Mocks):
    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: mocks.MockCallArgs) -> dict[str, Any]:
        return {}


class RecordingMonitor(mocks.MockMonitor):
    def __init__(self, m: mocks.Mocks) -> None:
        super().__init__(m)
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:
        raw = rpc.deserialize_properties(request.object, keep_internal=True)
        res = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(Registered(
                res.urn, request.type, request.name, request.parent,
                mocks_inputs(raw), _secret_paths(_keep_secrets(request.object))))
        return res


def mocks_inputs(raw: Any) -> dict[str, Any]:
    return dict(_unwrap(raw))


def _unwrap(v: Any) -> Any:
    if isinstance(v, dict):
        if v.get(SECRET_SIG) == SECRET_VALUE:
            return _unwrap(v.get("value"))
        return {k: _unwrap(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unwrap(x) for x in v]
    return v


def _keep_secrets(struct: Any) -> Any:
    """The struct as JSON-like data with the secret wrappers kept."""
    from google.protobuf import json_format

    return json_format.MessageToDict(struct)


def run(program: Any, *, preview: bool = False) -> list[Registered]:
    """Run `program()` (declaring resources) under the mocks, wait for every registration."""
    monitor = RecordingMonitor(Recorder())
    pulumi.runtime.set_mocks(Recorder(), project="rscctl-cluster", stack="test",
                             preview=preview, monitor=monitor)

    @pulumi.runtime.test  # type: ignore[misc]
    def _go() -> Any:
        program()
        return pulumi.Output.from_input(None)

    _go()
    return monitor.registered


def known_hosts(data: dict[str, Any], path: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """A known_hosts with a distinct Ed25519 key per host name (like `ssh-keyscan` gives)."""
    keys = {}
    lines = []
    for h, hv in data["hosts"].items():
        if h in skip or "ansible_host" not in hv:
            continue
        pub = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        keys[h] = pub
        lines.append(f"{h},{hv['ansible_host']} {pub}")
    path.write_text("\n".join(lines) + "\n")
    return keys
