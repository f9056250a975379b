"""Concurrent bulk writes (no NetBox needed): lanes never split a group (a device's interfaces,
a device type's devices) so two requests at once never share a counter row; answers come back
in request order; a request PostgreSQL chose as a deadlock's victim is sent again, any other
server error is not."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from rscctl.netbox import client as nbclient
from rscctl.netbox.client import NetBoxClient, NetBoxError, Secret, lanes, writers


def test_lanes_keep_groups_whole_and_balanced() -> None:
    objs = [{"device": d, "n": i} for d in range(7) for i in range(d + 1)]  # 28 objects
    out = lanes(objs, lambda o: o["device"], 3)
    assert len(out) == 3
    assert sorted(i for lane in out for i in lane) == list(range(len(objs)))
    owner = {objs[i]["device"]: n for n, lane in enumerate(out) for i in lane}
    for n, lane in enumerate(out):
        assert all(owner[objs[i]["device"]] == n for i in lane)  # no group on two lanes
        assert lane == sorted(lane)  # request order within a lane
    sizes = sorted(len(lane) for lane in out)
    assert sizes[-1] - sizes[0] <= 7  # at most one group's size apart
    assert lanes(objs, lambda o: "one", 3) == [list(range(len(objs)))]


def test_writers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(nbclient.WRITERS_ENV, raising=False)
    assert writers() == nbclient.WRITERS
    monkeypatch.setenv(nbclient.WRITERS_ENV, "1")
    assert writers() == 1
    for bad in ("0", "x", "99", "\u00b3"):  # a superscript digit: isdigit() but no int
        monkeypatch.setenv(nbclient.WRITERS_ENV, bad)
        with pytest.raises(nbclient.UserError, match=nbclient.WRITERS_ENV):
            writers()


class _Fake(http.server.BaseHTTPRequestHandler):
    """A list endpoint: POST echoes the objects with ids; the first `deadlocks` POSTs answer
    NetBox's 500 for a deadlock, a body with "boom" another 500."""

    deadlocks: ClassVar[int] = 0
    seen: ClassVar[list[list[dict[str, Any]]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            victim = _Fake.deadlocks > 0
            _Fake.deadlocks -= victim
            if not victim:
                _Fake.seen.append(body)
        if victim or any(o.get("boom") for o in body):
            err = ("deadlock detected\nDETAIL: Process 1 waits for ShareLock on transaction 2"
                   if victim else "boom")
            self._send(500, {"error": err, "exception": "OperationalError"})
            return
        self._send(201, [{**o, "id": 1000 + o["n"]} for o in body])

    def _send(self, code: int, body: Any) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def fake() -> Iterator[str]:
    _Fake.deadlocks, _Fake.seen = 0, []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_concurrent_create_answers_in_order_and_retries_deadlocks(
        fake: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nbclient, "CHUNK", 5)
    monkeypatch.setattr(nbclient.time, "sleep", lambda s: None)
    monkeypatch.setenv(nbclient.WRITERS_ENV, "3")
    _Fake.deadlocks = 2
    nb = NetBoxClient(fake, Secret("t"))
    objs = [{"device": i % 4, "n": i} for i in range(40)]
    out = nb.create("dcim/interfaces", objs, lambda o: o["device"])
    assert [o["id"] for o in out] == [1000 + i for i in range(40)]
    assert nb.deadlocks == 2
    lane_of = {objs[i]["device"]: n for n, lane in
               enumerate(lanes(objs, lambda o: o["device"], 3)) for i in lane}
    assert len(set(lane_of.values())) == 3  # the writes really went on three lanes
    for chunk in _Fake.seen:  # each request one lane's: never two lanes' devices
        assert len({lane_of[o["device"]] for o in chunk}) == 1
    assert sorted(o["n"] for c in _Fake.seen for o in c) == list(range(40))  # each once


def test_other_server_errors_are_not_sent_again(fake: str) -> None:
    nb = NetBoxClient(fake, Secret("t"))
    with pytest.raises(NetBoxError, match="boom") as exc:
        nb.create("dcim/cables", [{"n": 1, "boom": True}])
    assert not isinstance(exc.value, nbclient.Deadlock)
    assert nb.requests == 1 and nb.deadlocks == 0


def test_a_bad_writers_value_is_refused_before_any_request(
        fake: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(nbclient.WRITERS_ENV, "many")
    with pytest.raises(nbclient.UserError, match=nbclient.WRITERS_ENV):
        NetBoxClient(fake, Secret("t"))
    assert _Fake.seen == []


def test_a_failed_lane_stops_the_others(fake: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lane A's refused request ends the push: lanes B and C send no further chunks (before
    lanes, sending stopped at the first refused request)."""
    monkeypatch.setattr(nbclient, "CHUNK", 1)
    monkeypatch.setenv(nbclient.WRITERS_ENV, "3")
    nb = NetBoxClient(fake, Secret("t"))
    objs = [{"device": d, "n": 100 * d + i, **({"boom": True} if d == 0 and i == 0 else {})}
            for d in range(3) for i in range(20)]
    with pytest.raises(NetBoxError, match="boom"):
        nb.create("dcim/interfaces", objs, lambda o: o["device"])
    assert len(_Fake.seen) < 30, len(_Fake.seen)  # without the stop: lanes B and C's 40
