"""The exporters' registry: every kind resolves to a typed exporter under rscctl.export, and
the CLI starts without importing any of them (the reason the imports are lazy)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from typing import get_type_hints

from rscctl.export import EXPORTERS, LOADERS
from rscctl.outputs import Files
from rscctl.planner.model import Plan
from tests.conftest import ROOT


def test_every_kind_is_an_exporter_of_plan_to_files() -> None:
    assert list(EXPORTERS) == list(LOADERS)
    for kind in LOADERS:
        fn = EXPORTERS[kind]
        assert fn is LOADERS[kind](), kind
        assert fn.__module__.startswith("rscctl.export"), (kind, fn.__module__)
        (param,) = inspect.signature(fn).parameters.values()
        hints = get_type_hints(fn)
        assert hints == {param.name: Plan, "return": Files}, (kind, hints)


def test_cli_start_imports_no_exporter() -> None:
    modules = sorted({EXPORTERS[k].__module__ for k in EXPORTERS} - {"rscctl.export"})
    code = ("import sys, json; from rscctl.cli import main; rc = main(['validate', 'lab']); "
            "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    loaded = set(json.loads(proc.stdout.splitlines()[-1]))
    assert "rscctl.export.firewall" in modules and "rscctl.export.xlsx" in modules
    assert not loaded & set(modules), sorted(loaded & set(modules))
