"""The token: from a 0600 file or RSCCTL_NETBOX_TOKEN only, never printed (not in messages,
not with RSCCTL_DEBUG=1); the URL checked; an unreachable NetBox is one message, exit 2."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from rscctl.errors import UserError
from rscctl.netbox.client import Secret, read_token, validate_url
from tests.netbox import harness
from tests.netbox.conftest import NetBox, rscctl

WRONG = "nbt_wrongkey0001.ffffffffffffffffffffffffffffffffffffffff"


def _token_file(tmp_path: Path, value: str, mode: int) -> Path:
    p = tmp_path / f"tok-{mode:o}"
    p.write_text(value + "\n")
    p.chmod(mode)
    return p


@pytest.mark.parametrize("url", ["netbox.example.org", "ftp://netbox", "http://", "https://:80",
                                 "https://u:p@netbox", "https://netbox/?x=1", "http://h:99999"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(UserError, match="--url"):
        validate_url(url)


def test_good_url_is_normalised() -> None:
    assert validate_url("https://netbox.example.org/nb/") == "https://netbox.example.org/nb"


def test_token_file_modes(tmp_path: Path) -> None:
    assert read_token(_token_file(tmp_path, "abc", 0o600)).reveal() == "abc"
    for mode in (0o640, 0o644, 0o604):
        with pytest.raises(UserError, match="chmod 600") as exc:
            read_token(_token_file(tmp_path, "s3cr3t-value", mode))
        assert "s3cr3t-value" not in str(exc.value)
    with pytest.raises(UserError, match="one line"):
        read_token(_token_file(tmp_path, "two words", 0o600))
    link = tmp_path / "link"
    link.symlink_to(_token_file(tmp_path, "abc", 0o600))
    with pytest.raises(UserError):
        read_token(link)


def test_secret_does_not_print_itself() -> None:
    s = Secret("s3cr3t-value")
    assert "s3cr3t" not in repr(s) and "s3cr3t" not in str(s) and "s3cr3t" not in f"{s}"


def test_no_token_option_on_the_command_line() -> None:
    r = rscctl("netbox", "push", "lab", "--url", "http://127.0.0.1:1", "--token", "x")
    assert r.returncode == 2 and "--token" in r.stderr


def _never_shown(r: object, secret: str) -> None:
    out = getattr(r, "stdout", "") + getattr(r, "stderr", "")
    assert secret not in out
    assert "Traceback" not in out


def test_cli_refusals_never_show_the_token(netbox: NetBox, lab_out: Path,
                                           tmp_path: Path) -> None:
    base = ("netbox", "push", "lab", "--out", str(lab_out))
    # A wide token file: refused before anything is sent.
    wide = _token_file(tmp_path, harness.TOKEN, 0o644)
    r = rscctl(*base, "--url", netbox.url, "--token-file", str(wide))
    assert r.returncode == 2 and "chmod 600" in r.stderr
    _never_shown(r, harness.TOKEN_PLAIN)
    # A wrong token: NetBox's refusal, one message.
    bad = _token_file(tmp_path, WRONG, 0o600)
    for debug in ("", "1"):
        r = rscctl(*base, "--url", netbox.url, "--token-file", str(bad),
                   env={"RSCCTL_DEBUG": debug})
        assert r.returncode == 2, r.stderr
        assert "refused the token" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        _never_shown(r, WRONG.split(".")[1])
    # Nothing listening: one message, exit 2, the token not in it.
    port = harness.free_port()
    r = rscctl(*base, "--url", f"http://127.0.0.1:{port}",
               env={"RSCCTL_NETBOX_TOKEN": harness.TOKEN, "RSCCTL_DEBUG": "1"})
    assert r.returncode == 2 and "cannot reach NetBox" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    _never_shown(r, harness.TOKEN_PLAIN)
    # No token at all.
    r = rscctl(*base, "--url", netbox.url)
    assert r.returncode == 2 and "RSCCTL_NETBOX_TOKEN" in r.stderr
    # A plan that was not written.
    r = rscctl("netbox", "diff", "lab", "--out", str(tmp_path / "none"), "--url", netbox.url,
               env={"RSCCTL_NETBOX_TOKEN": harness.TOKEN})
    assert r.returncode == 2 and "rscctl plan" in r.stderr, r.stderr
    assert os.environ.get("RSCCTL_NETBOX_TOKEN") is None


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every GET with `reply` (a redirect or a 200) and records the headers seen."""

    seen: ClassVar[list[str]] = []
    reply: ClassVar[tuple[int, dict[str, str]]] = (200, {})

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization", ""))
        code, headers = self.reply
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b'{"count": 0, "results": []}')

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> http.server.HTTPServer:
    srv = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_a_redirect_is_refused_and_the_token_not_sent_on(lab_out: Path) -> None:
    class Target(_Recorder):
        seen: ClassVar[list[str]] = []

    target = _serve(Target)

    class Redirector(_Recorder):
        seen: ClassVar[list[str]] = []
        reply = (302, {"Location": f"http://127.0.0.1:{target.server_port}/api/status/"})

    red = _serve(Redirector)
    try:
        r = rscctl("netbox", "diff", "lab", "--out", str(lab_out), "--url",
                   f"http://127.0.0.1:{red.server_port}",
                   env={"RSCCTL_NETBOX_TOKEN": harness.TOKEN})
    finally:
        red.shutdown()
        target.shutdown()
    assert r.returncode == 2, r.stderr
    assert "redirects" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    _never_shown(r, harness.TOKEN_PLAIN)
    assert Redirector.seen and Target.seen == []
