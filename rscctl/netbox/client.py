"""Plain HTTP to NetBox's REST API (urllib): paged lists with chosen fields, bulk writes.

Why not pynetbox: one object per call for updates, and one more dependency; NetBox's list
endpoints take a list of objects for POST, PATCH and DELETE, which is all a push needs.

The token is held by `Secret` (its repr and str are a placeholder), read from a file that only
its owner may read or from RSCCTL_NETBOX_TOKEN, and never shown in a message: errors name the
URL path and NetBox's answer, never the request headers.
"""

from __future__ import annotations

import json
import os
import ssl
import stat
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rscctl.errors import UserError

TOKEN_ENV = "RSCCTL_NETBOX_TOKEN"
PAGE = 1000  # NetBox's default MAX_PAGE_SIZE
CHUNK = 500  # objects per bulk write: one transaction each
PARALLEL = 4  # pages fetched at once
TIMEOUT_S = 300.0
WRITERS_ENV = "RSCCTL_NETBOX_WRITERS"
WRITERS = 3  # bulk writes at once, each on its own lane of disjoint objects
DEADLOCK_TRIES = 4

JSON = Any


class Secret:
    """A token that does not print itself (not in reprs, tracebacks or f-strings)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class NetBoxError(UserError):
    """NetBox refused a request or could not be reached: exit 2, one message."""


class Deadlock(NetBoxError):
    """PostgreSQL broke a deadlock by failing this request: its transaction was rolled back
    whole (NetBox writes a bulk request atomically), so sending it again is safe."""


def writers() -> int:
    """Bulk writes in flight at once: RSCCTL_NETBOX_WRITERS (1 = one after another)."""
    raw = os.environ.get(WRITERS_ENV, "").strip()
    if not raw:
        return WRITERS
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 16:
        raise UserError(f"{WRITERS_ENV}={raw!r}: not a number from 1 to 16; fix: e.g. "
                        f"{WRITERS_ENV}=3, or unset it")
    return int(raw)


def lanes(objs: Sequence[Any], group: Callable[[Any], Hashable], n: int) -> list[list[int]]:
    """Indexes of `objs` dealt into at most n lanes so that a group (e.g. the objects of one
    device) is never split between lanes; lanes balanced by size, each in request order.

    Why: two requests at once that lock the same rows in different orders deadlock (a device
    type's device counter, a device's interface counter); requests on disjoint groups do not."""
    groups: dict[Hashable, list[int]] = {}
    for i, o in enumerate(objs):
        groups.setdefault(group(o), []).append(i)
    out: list[list[int]] = [[] for _ in range(max(1, min(n, len(groups))))]
    for members in sorted(groups.values(), key=len, reverse=True):
        min(out, key=len).extend(members)
    return [sorted(lane) for lane in out if lane]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is reported, not followed: the token must not go to another address."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        return None


def validate_url(url: str) -> str:
    """http(s)://host[:port][/base] without credentials, query or fragment; no trailing /."""
    try:
        u = urllib.parse.urlsplit(url)
        port = u.port
    except ValueError as exc:
        raise UserError(f"--url {url!r}: {exc}; fix: give e.g. https://netbox.example.org") \
            from None
    if u.scheme not in ("http", "https") or not u.hostname:
        raise UserError(f"--url {url!r}: not an http:// or https:// URL with a host; fix: give "
                        "e.g. https://netbox.example.org")
    if u.username or u.password or u.query or u.fragment:
        raise UserError(f"--url: user, password, query or fragment in the URL; fix: give only "
                        f"{u.scheme}://{u.hostname}{f':{port}' if port else ''}{u.path} and the "
                        f"token with --token-file or {TOKEN_ENV}")
    return urllib.parse.urlunsplit((u.scheme, u.netloc, u.path.rstrip("/"), "", ""))


def read_token(token_file: Path | None) -> Secret:
    """The token from FILE (refused when group or others may read it) or from the
    environment; never from the command line."""
    if token_file is None:
        value = os.environ.get(TOKEN_ENV, "").strip()
        if not value:
            raise UserError(f"no NetBox token: give --token-file FILE (mode 0600) or set "
                            f"{TOKEN_ENV}")
        return Secret(value)
    try:
        fd = os.open(token_file, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise UserError(f"--token-file {token_file}: {exc.strerror}; fix: give a file holding "
                        "the token, mode 0600") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"--token-file {token_file}: not a regular file; fix: give a file "
                            "holding the token, mode 0600")
        if st.st_mode & 0o077:
            raise UserError(f"--token-file {token_file}: mode {stat.S_IMODE(st.st_mode):04o} "
                            f"lets others read the token; fix: chmod 600 {token_file}")
        raw = os.read(fd, 65536)
    finally:
        os.close(fd)
    lines = raw.decode("utf-8", "replace").strip().splitlines()
    if len(lines) != 1 or not lines[0].strip() or any(c.isspace() for c in lines[0].strip()):
        raise UserError(f"--token-file {token_file}: expected the token alone on one line; fix: "
                        "write only the token (nbt_KEY.SECRET or a v1 key) into the file")
    return Secret(lines[0].strip())


def _answer(raw: bytes) -> str:
    """NetBox's error body, short: DRF's detail or field errors."""
    try:
        body = json.loads(raw)
    except ValueError:
        text = raw.decode("utf-8", "replace").strip()
        return (text[:300] + "...") if len(text) > 300 else text
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    if isinstance(body, list):
        errors = [(i, e) for i, e in enumerate(body) if e]
        return "; ".join(f"object {i}: {json.dumps(e)}" for i, e in errors[:5]) + (
            f" ... and {len(errors) - 5} more" if len(errors) > 5 else "")
    return json.dumps(body)[:600]


class NetBoxClient:
    """One NetBox: `get_all` pages through a list, `create`/`update`/`delete` in bulk."""

    def __init__(self, url: str, token: Secret, *, verify_tls: bool = True,
                 timeout: float = TIMEOUT_S) -> None:
        self.url = validate_url(url)
        self._token = token
        self.writers = writers()  # read before any request: a bad value writes nothing
        self.timeout = timeout
        self._ssl = ssl.create_default_context()
        if not verify_tls:
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self._ssl), _NoRedirect)
        self.requests = 0
        self._count = threading.Lock()
        self.deadlocks = 0  # requests sent again after PostgreSQL broke a deadlock
        host = urllib.parse.urlsplit(self.url).hostname or ""
        if self.url.startswith("http://") and host not in ("127.0.0.1", "::1", "localhost"):
            print(f"warning: {self.url} is plain http: the token crosses the network "
                  "unencrypted; use https", file=sys.stderr)

    def _auth(self) -> str:
        value = self._token.reveal()
        return f"Bearer {value}" if value.startswith("nbt_") else f"Token {value}"

    def request(self, method: str, path: str, body: JSON = None) -> JSON:
        """One call; NetBox's refusal or an unreachable server is one NetBoxError."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        req.add_header("Accept", "application/json")
        req.add_header("Authorization", self._auth())
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with self._count:
            self.requests += 1
        shown = path.split("?", 1)[0]
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                to = urllib.parse.urlsplit(exc.headers.get("Location", ""))
                raise NetBoxError(f"NetBox at {self.url} redirects {shown} ({exc.code}) to "
                                  f"{to.scheme}://{to.netloc}{to.path}; the token is not sent "
                                  "after a redirect; fix: give --url as NetBox's own address "
                                  "(https, its host name)") from None
            answer = _answer(exc.read())
            if exc.code == 500 and "deadlock detected" in answer:
                raise Deadlock(f"NetBox at {self.url}: {method} {shown}: {answer}") from None
            if exc.code in (401, 403):
                raise NetBoxError(f"NetBox at {self.url} refused the token ({exc.code}: "
                                  f"{answer}); fix: give a valid token with write access "
                                  f"(--token-file or {TOKEN_ENV})") from None
            raise NetBoxError(f"NetBox at {self.url}: {method} {shown} failed ({exc.code}): "
                              f"{answer}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NetBoxError(f"cannot reach NetBox at {self.url}: {reason}; fix: check --url "
                              "and that NetBox is up") from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise NetBoxError(f"{self.url}{shown} did not answer JSON: is --url a NetBox (its "
                              "address without /api)?") from None

    def version(self) -> str:
        status = self.request("GET", "/api/status/")
        return str(status.get("netbox-version", "")) if isinstance(status, dict) else ""

    def get_all(self, endpoint: str, fields: Sequence[str],
                filters: dict[str, str | int] | None = None) -> list[dict[str, Any]]:
        """Every object of a list endpoint (e.g. dcim/devices), only `fields`, pages of 1000
        fetched a few at a time."""
        query = {"limit": PAGE, "fields": ",".join(fields), "ordering": "id",
                 **(filters or {})}

        def page(offset: int) -> dict[str, Any]:
            q = urllib.parse.urlencode({**query, "offset": offset})
            result: dict[str, Any] = self.request("GET", f"/api/{endpoint}/?{q}")
            return result

        first = page(0)
        out: list[dict[str, Any]] = list(first["results"])
        count = int(first["count"])
        offsets = range(PAGE, count, PAGE)
        if offsets:
            with ThreadPoolExecutor(PARALLEL) as pool:
                for p in pool.map(page, offsets):
                    out.extend(p["results"])
        return out

    def _chunks(self, objs: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        for i in range(0, len(objs), CHUNK):
            yield list(objs[i:i + CHUNK])

    def _write(self, method: str, endpoint: str, chunk: list[dict[str, Any]]) -> JSON:
        """One bulk request, sent again when PostgreSQL chose it as a deadlock's victim."""
        for attempt in range(DEADLOCK_TRIES):
            try:
                return self.request(method, f"/api/{endpoint}/", chunk)
            except Deadlock:
                if attempt == DEADLOCK_TRIES - 1:
                    raise
                with self._count:
                    self.deadlocks += 1
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    def _lanes(self, method: str, endpoint: str, objs: Sequence[dict[str, Any]],
               group: Callable[[dict[str, Any]], Hashable] | None) -> list[dict[str, Any]]:
        """Bulk requests of `objs`; with `group`, lanes of disjoint groups at once (each lane
        one request after another), else one request at a time. Answers in `objs`' order."""
        n = self.writers if group is not None else 1
        order = lanes(objs, group, n) if group is not None and n > 1 else [
            list(range(len(objs)))]
        failed = threading.Event()  # one lane refused: the others send no more chunks

        def run(lane: list[int]) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for chunk in self._chunks([objs[i] for i in lane]):
                if failed.is_set():
                    break
                try:
                    out.extend(self._write(method, endpoint, chunk) or [])
                except BaseException:
                    failed.set()
                    raise
            return out

        if len(order) == 1:
            done = [run(order[0])]
        else:
            with ThreadPoolExecutor(len(order)) as pool:
                done = list(pool.map(run, order))
        result: list[dict[str, Any]] = [{}] * len(objs)
        for lane, answers in zip(order, done, strict=True):
            for i, a in zip(lane, answers, strict=True):
                result[i] = a
        return result

    def create(self, endpoint: str, objs: Sequence[dict[str, Any]],
               group: Callable[[dict[str, Any]], Hashable] | None = None
               ) -> list[dict[str, Any]]:
        """POST lists; returns the created objects (with ids) in `objs`' order. Without
        `group`, one request after another: two bulk creates that share a counter row (a
        device type's device count, a device's interface count) deadlocked when sent at once;
        with it, lanes of objects whose groups (their device type, their device) differ."""
        return self._lanes("POST", endpoint, objs, group)

    def update(self, endpoint: str, objs: Sequence[dict[str, Any]],
               group: Callable[[dict[str, Any]], Hashable] | None = None) -> None:
        """PATCH lists of {id, changed fields}; lanes as for create."""
        self._lanes("PATCH", endpoint, objs, group)

    def delete(self, endpoint: str, ids: Sequence[int]) -> None:
        for chunk in self._chunks([{"id": i} for i in ids]):
            self._write("DELETE", endpoint, chunk)


__all__ = ["TOKEN_ENV", "WRITERS_ENV", "Deadlock", "NetBoxClient", "NetBoxError", "Secret",
           "lanes", "read_token", "validate_url", "writers"]
