"""Firewall changes confirmed or undone: the controller's half of rscctl-fw-guard.

The firewall role loads a new ruleset through `rscctl-fw-guard load`, which saves the one in
force and arms a timer on the node (systemd-run, or a detached process where there is no
systemd) that restores it after `--confirm-timeout` seconds. After each batch, `rscctl apply`
opens a fresh SSH connection to every host of the batch (paramiko, host key pinned from
known_hosts, through the bastion: the path operators use) and runs `rscctl-fw-guard confirm`.
A host it cannot reach is left to undo the change itself; once the timeout has passed the
controller asks again and reports it "rolled back" (a failed host for --max-fail).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rscctl.apply.nodessh import Jump, Route, Unreachable, sudo

GUARD = "/usr/local/sbin/rscctl-fw-guard"
# After the timeout, how long the node may take to restore (its timer is 1 s accurate; the
# detached process polls every second) and its sshd to answer.
MARGIN_S = 5.0
WORKERS = 16

Say = Callable[[str], None]


@dataclass(frozen=True)
class Outcome:
    """What happened to one host's firewall change."""

    state: str  # confirmed | none | rolled back | unreachable | failed
    detail: str = ""


def parse_answer(rc: int, stdout: str, stderr: str, since: float) -> Outcome:
    """The guard's one JSON line (or why there is none). Pure. Nothing pending but a
    rollback at or after `since` (the batch's start, epoch s): the node undid the change
    before the confirm came (a timeout shorter than the batch took), not a success."""
    if rc == 127 or "rscctl-fw-guard: No such file" in stderr or "command not found" in stderr:
        return Outcome("none", "no firewall guard on this host")
    if rc != 0:
        return Outcome("failed", (stderr or stdout).strip()[-200:] or f"rc {rc}")
    try:
        doc = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return Outcome("failed", f"unreadable answer: {stdout.strip()[-200:]!r}")
    state = str(doc.get("state", ""))
    if state == "none" and rolled_back_since(doc, since):
        return Outcome("rolled back", f"{doc['rolled_back'].get('why', '')}, before the "
                       "confirm came: is --confirm-timeout shorter than a batch takes?")
    if state in ("confirmed", "none"):
        return Outcome(state)
    return Outcome("failed", f"unexpected answer {state!r}")


def rolled_back_since(status: Mapping[str, Any], since: float) -> bool:
    """`rscctl-fw-guard status` shows a rollback at or after `since` (epoch s). Pure."""
    rb = status.get("rolled_back") or {}
    return bool(rb) and float(rb.get("at", 0)) >= since and status.get("pending") is None


def after_timeout_answer(rc: int, status: Mapping[str, Any], since: float) -> Outcome:
    """What `rscctl-fw-guard status` says of a host the first confirm could not reach, once
    its timeout has passed. Pure. A lost confirm is not a failed host: with nothing pending
    and no rollback, either that confirm landed (its record is newer than the batch) or the
    batch loaded nothing (a no-change run); only a change still pending past its timeout (the
    node's rollback timer did not fire) is a failure."""
    if rc != 0:
        return Outcome("failed", f"status: rc {rc}")
    if rolled_back_since(status, since):
        return Outcome("rolled back", str(status["rolled_back"].get("why", "")))
    if status.get("pending") is not None:
        return Outcome("failed", "still pending after its timeout: the node's rollback "
                       "timer did not fire (see `rscctl-fw-guard status` on the node)")
    confirmed = status.get("confirmed") or {}
    if confirmed and float(confirmed.get("at", 0)) >= since:
        return Outcome("confirmed", "by the first confirm, whose answer was lost")
    return Outcome("none", "nothing was pending")


class Guard:
    """Confirms each batch's firewall changes; one bastion connection for the whole run."""

    def __init__(self, route: Route, addresses: Mapping[str, str], timeout: int,
                 say: Say) -> None:
        self.jump = Jump(route)
        self.addresses = dict(addresses)
        self.timeout = timeout
        self.say = say

    def _ask(self, host: str, *words: str) -> tuple[int, str, str]:
        res = self.jump.run(host, self.addresses.get(host, host), sudo(GUARD, *words),
                            timeout=30)
        return res.rc, res.stdout, res.stderr

    def _confirm(self, host: str, since: float) -> Outcome:
        try:
            return parse_answer(*self._ask(host, "confirm"), since)
        except Unreachable as exc:
            return Outcome("unreachable", str(exc))

    def _after_timeout(self, host: str, since: float) -> Outcome:
        try:
            rc, out, err = self._ask(host, "status")
        except Unreachable as exc:
            return Outcome("unreachable", f"still unreachable after the rollback timeout: {exc}")
        try:
            doc = json.loads(out)
        except ValueError:
            return Outcome("failed", f"status: {(err or out).strip()[-200:]}")
        return after_timeout_answer(rc, doc, since)

    def confirm(self, hosts: list[str], started: float, ended: float) -> dict[str, Outcome]:
        """Confirm on every host; the unreachable ones are asked again once the timeout has
        passed since the batch `ended` (its handlers loaded the rulesets before that)."""
        if not hosts:
            return {}
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(hosts))) as pool:
            answers = pool.map(lambda h: self._confirm(h, started), hosts)
            out = dict(zip(hosts, answers, strict=True))
        lost = [h for h, o in out.items() if o.state == "unreachable"]
        if lost:
            wait = max(0.0, ended + self.timeout + MARGIN_S - time.time())
            self.say(f"  {len(lost)} hosts unreachable over a fresh SSH connection "
                     f"({out[lost[0]].detail}); waiting {wait:.0f} s for their rollback")
            time.sleep(wait)
            with ThreadPoolExecutor(max_workers=min(WORKERS, len(lost))) as pool:
                again = pool.map(lambda h: self._after_timeout(h, started), lost)
                out.update(zip(lost, again, strict=True))
        for h, o in sorted(out.items()):
            if o.state in ("rolled back", "unreachable", "failed"):
                self.say(f"  {h}: firewall {o.state} ({o.detail})")
        return out

    def close(self) -> None:
        self.jump.close()


def start(opts: Any, say: Say) -> Guard | None:
    """The run's guard (`opts`: run.Options), or None when nothing is loaded to confirm."""
    if opts.check or opts.confirm_timeout <= 0:
        return None
    from rscctl.apply.invcache import load

    hv = load(opts.plan)["hosts"]
    addresses = {h: str(v.get("ansible_host", h)) for h, v in hv.items()}
    a = opts.access
    route = Route(bastion=a.bastion, ssh_config=a.ssh_config, known_hosts=a.known_hosts,
                  user=a.user, key=a.key)
    return Guard(route, addresses, opts.confirm_timeout, say)


def after_batch(guard: Guard, results: Mapping[str, Any], started: float) -> None:
    """Confirm the batch's hosts that finished their play with a change; mark their fate in
    `results` (run.HostResult: a rolled-back or unreachable host fails the batch). A host
    that changed nothing loaded no ruleset (the guard's load reports a change), so it has
    nothing to confirm: a no-change rerun opens no confirm session at all."""
    ready = [h for h, r in results.items() if r.status == "changed"]
    for host, o in guard.confirm(ready, started, time.time()).items():
        r = results[host]
        if o.state == "rolled back":
            r.rolled_back = 1
        elif o.state == "unreachable":
            r.unreachable += 1
        elif o.state == "failed":
            r.failed += 1
