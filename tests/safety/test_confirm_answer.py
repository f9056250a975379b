"""The controller's reading of rscctl-fw-guard's answers (rscctl/apply/confirm.py)."""

from __future__ import annotations

import json

from rscctl.apply.confirm import after_timeout_answer, parse_answer


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


def test_a_lost_confirm_is_judged_by_the_status_after_the_timeout() -> None:
    """Found by the 32-node benchmark under load: a no-change rerun whose confirm session was
    lost was counted failed although nothing was pending. Only a rollback (rolled back) or a
    change still pending past its timeout (failed) is bad news."""
    since = 1000.0
    rolled = {"pending": None, "rolled_back": {"at": 1100.0, "why": "not confirmed in time"}}
    assert after_timeout_answer(0, rolled, since).state == "rolled back"
    stuck = {"pending": {"token": "t", "deadline": 1050.0}, "rolled_back": None}
    assert after_timeout_answer(0, stuck, since).state == "failed"
    landed = {"pending": None, "confirmed": {"at": 1010.0}, "rolled_back": {"at": 10.0}}
    assert after_timeout_answer(0, landed, since).state == "confirmed"
    idle = {"pending": None, "confirmed": {"at": 500.0}, "rolled_back": None}
    assert after_timeout_answer(0, idle, since).state == "none"
    assert after_timeout_answer(1, idle, since).state == "failed"
