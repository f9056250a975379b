"""The controller's reading of rscctl-fw-guard's answers (rscctl/apply/confirm.py)."""

from __future__ import annotations

import json

from rscctl.apply.confirm import parse_answer


def test_a_rollback_before_the_confirm_came_is_not_a_success() -> None:
    """Nothing pending because the node already undid the change (the batch took longer
    than --confirm-timeout): 'rolled back', never 'none'."""
    late = json.dumps({"state": "none", "rolled_back": {"at": 1000.0,
                                                        "why": "not confirmed in time"}})
    out = parse_answer(0, late, "", since=900.0)
    assert out.state == "rolled back" and "not confirmed in time" in out.detail
    # a rollback of an earlier run is history, not this batch's fate
    assert parse_answer(0, late, "", since=1100.0).state == "none"


def test_confirmed_and_missing_guard() -> None:
    assert parse_answer(0, '{"state": "confirmed"}\n', "", since=0).state == "confirmed"
    gone = "sudo: /usr/local/sbin/rscctl-fw-guard: command not found\n"
    assert parse_answer(1, "", gone, since=0).state == "none"
    assert parse_answer(1, "", "nft: boom", since=0).state == "failed"
