"""Golden files: a fresh render of tests/golden/small.yaml equals tests/golden/<kind>/, every
kind of EXPORTERS included. After an intended change: `make golden`, review, commit."""

from __future__ import annotations

import difflib

from rscctl.export import EXPORTERS
from tests.golden import regen


def _diff(rel: str, want: bytes, got: bytes, lines: int = 40) -> str:
    a = want.decode("utf-8", "replace").splitlines()
    b = got.decode("utf-8", "replace").splitlines()
    diff = list(difflib.unified_diff(a, b, f"golden/{rel}", f"fresh/{rel}", lineterm="", n=1))
    more = f"\n... {len(diff) - lines} more diff lines" if len(diff) > lines else ""
    return "\n".join(diff[:lines]) + more


def test_fresh_render_equals_golden() -> None:
    got, want = regen.fresh(), regen.stored()
    problems = [f"missing from tests/golden (new output): {rel}" for rel in sorted(set(got) -
                                                                                   set(want))]
    problems += [f"no longer rendered: {rel}" for rel in sorted(set(want) - set(got))]
    changed = [rel for rel in sorted(set(got) & set(want)) if got[rel] != want[rel]]
    problems += [_diff(rel, want[rel], got[rel]) for rel in changed[:5]]
    if len(changed) > 5:
        problems.append(f"... and {len(changed) - 5} more changed: {', '.join(changed[5:])}")
    assert not problems, ("outputs differ from the golden files; if intended, regenerate with "
                          f"{regen.REGEN} and review the diff\n" + "\n".join(problems))


def test_every_kind_has_golden_files() -> None:
    """The small build is rich enough that every exporter writes something."""
    kinds = {rel.split("/", 1)[0] for rel in regen.stored()}
    assert kinds == set(EXPORTERS)


def test_goldens_stay_small() -> None:
    assert sum(map(len, regen.stored().values())) < 1_000_000
