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
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rscctl.errors import UserError

TOKEN_ENV = "RSCCTL_NETBOX_TOKEN"
PAGE = 1000  # NetBox's default MAX_PAGE_SIZE
CHUNK = 500  # objects per bulk write: one transaction each
PARALLEL = 4  # pages fetched at once
TIMEOUT_S = 300.0

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
        self.timeout = timeout
        self._ssl = ssl.create_default_context()
        if not verify_tls:
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self._ssl), _NoRedirect)
        self.requests = 0
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

    def create(self, endpoint: str, objs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST lists, one after another: NetBox's counters (a device type's device count, a
        device's interface count) deadlock two bulk creates at once (measured: 500, deadlock
        detected on dcim_devicetype). Returns the created objects (with ids) in order."""
        out: list[dict[str, Any]] = []
        for chunk in self._chunks(objs):
            out.extend(self.request("POST", f"/api/{endpoint}/", chunk))
        return out

    def update(self, endpoint: str, objs: Sequence[dict[str, Any]]) -> None:
        """PATCH lists of {id, changed fields}."""
        for chunk in self._chunks(objs):
            self.request("PATCH", f"/api/{endpoint}/", chunk)

    def delete(self, endpoint: str, ids: Sequence[int]) -> None:
        for chunk in self._chunks([{"id": i} for i in ids]):
            self.request("DELETE", f"/api/{endpoint}/", chunk)


__all__ = ["TOKEN_ENV", "NetBoxClient", "NetBoxError", "Secret", "read_token", "validate_url"]
