"""Each output grammar's escape or refusal (rscctl/export/escape.py) against hostile values,
checked where possible by the program that reads that grammar."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path

import pytest

from rscctl.errors import UserError
from rscctl.export import escape
from rscctl.export.csvs import csv_bytes
from rscctl.lab import net
from rscctl.templating import render

LINE_BREAKS = ["a\nb", "a\rb", "a\x00b", "a\u2028b", "a\u2029b", "a\x85b", "a\x1bb", "a\x7fb"]


@pytest.mark.parametrize("value", LINE_BREAKS)
def test_plain_text_refuses_every_line_break(value: str) -> None:
    with pytest.raises(UserError, match=r"^site=.*control character"):
        escape.plain_text(value, "site")


@pytest.mark.parametrize("value", ["dgx 0001", "dgx\t1", "../x", "a.b", "-a", "a-", "", "x" * 64,
                                   "dgx_1", "dgx\n1", "é"])
def test_host_label_refuses(value: str) -> None:
    with pytest.raises(UserError, match="RFC 1123"):
        escape.host_label(value, "naming.node")


@pytest.mark.parametrize("value", ["dgx0001", "leaf-s001-r1", "A1", "x" * 63])
def test_host_label_accepts(value: str) -> None:
    assert escape.host_label(value, "naming.node") == value


@pytest.mark.parametrize("value", ["rsc..internal", "rsc.internal.", "a b.c", ("a" * 63 + ".") * 4])
def test_dns_name_refuses(value: str) -> None:
    with pytest.raises(UserError, match="domain name"):
        escape.dns_name(value, "dns.domain")


@pytest.mark.parametrize(("value", "lo", "hi"), [(2**32, 0, 2**32 - 1), (-1, 0, 10),
                                                  (True, 0, 10), ("1", 0, 10), (1.5, 0, 10)])
def test_bounded_int_refuses(value: object, lo: int, hi: int) -> None:
    with pytest.raises(UserError, match="whole number"):
        escape.bounded_int(value, "dns.serial", lo, hi)


@pytest.mark.parametrize("value", ["a\nWhat=/etc", " lead", "trail ", "ends\\", "x\rWhere=/"])
def test_systemd_value_refuses(value: str) -> None:
    with pytest.raises(UserError, match=re.escape("storage.nfs.mount_options")):
        escape.systemd_value(value, "storage.nfs.mount_options")


@pytest.mark.parametrize("path", ["/mnt/a b", "/mnt/é", "/mnt/x-y", "/mnt/.hidden", "/mnt/a%b",
                                  "/mnt/a\\b", "/", "/mnt/a:b_c.d", "/mnt/ü/ß"])
def test_systemd_escape_path_matches_systemd_escape(path: str) -> None:
    out = subprocess.run(["systemd-escape", "--path", path], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert escape.systemd_escape_path(path) == out


@pytest.mark.parametrize("path", ["mnt/x", "/mnt//x", "/mnt/./x", "/mnt/../etc", "/mnt/x/",
                                  "/" + "x" * 250, "/mnt/a\nb"])
def test_mount_point_refuses(path: str) -> None:
    with pytest.raises(UserError, match="mount_point"):
        escape.mount_point(path, "storage.systems[].mount_point")


def _mount_unit(tmp: Path, where: str, options: str) -> Path:
    from rscctl.export.nfs import Mount

    m = Mount("fa001-ct0-eth10.rsc.internal:/x", where, "/x", options)
    text = render("nfs/nfs.mount.j2", build="b", mount=m)
    unit = tmp / m.unit
    unit.write_text(text)
    (tmp / "tlshd.service").write_text("[Service]\nExecStart=/bin/true\n")
    return unit


def test_percent_is_doubled_for_systemd(tmp_path: Path) -> None:
    """A literal % in a mount point and options survives systemd's specifier expansion."""
    unit = _mount_unit(tmp_path, "/mnt/a%b", "hard,x=%n")
    text = unit.read_text()
    assert "Where=/mnt/a%%b\n" in text and "Options=hard,x=%%n\n" in text
    res = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr


@pytest.mark.parametrize("value", ["/etc/a\nb", " /etc/x", "/etc/x "])
def test_keyfile_value_refuses(value: str) -> None:
    with pytest.raises(UserError, match=re.escape("storage.nfs.ca_path")):
        escape.keyfile_value(value, "storage.nfs.ca_path")


def test_keyfile_backslash_doubled_in_tlshd_conf() -> None:
    text = render("nfs/tlshd.conf.j2", build="b",
                  nfs={"ca_path": "/etc/a\\nb", "cert_path": "/c", "key_path": "/k"})
    assert "x509.truststore=/etc/a\\\\nb\n" in text
    assert escape.keyfile_escape("a\\sb") == "a\\\\sb"


@pytest.mark.parametrize("value", ["zone x", "zone\nx", "1zone-ok-not", "zone;drop", "zone{",
                                   "a" * 256, "", "zone\"x"])
def test_nft_identifier_refuses(value: str) -> None:
    if value == "1zone-ok-not":
        with pytest.raises(UserError):
            escape.nft_identifier(value, "policy zone name")
        return
    with pytest.raises(UserError, match="nft identifier"):
        escape.nft_identifier(value, "policy zone name")


@pytest.mark.parametrize("value", ['say "hi"', "a\nb", "x" * 128])
def test_nft_string_refuses(value: str) -> None:
    with pytest.raises(UserError, match=re.escape("policy.drop_log.prefix")):
        escape.nft_string(value, "policy.drop_log.prefix", escape.NFT_LOG_PREFIX_MAX)


def test_nft_comment_cut_to_what_nft_takes(tmp_path: Path) -> None:
    long = "flow " + "é" * 200
    cut = escape.nft_comment(long, "flow")
    assert len(cut.encode()) <= escape.NFT_COMMENT_MAX and cut.endswith("...")
    ruleset = tmp_path / "r.nft"
    ruleset.write_text(f'table inet t {{\n\tchain c {{\n\t\taccept comment "{cut}"\n\t}}\n}}\n')
    res = subprocess.run(["nft", "-c", "-f", str(ruleset)], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stderr
    with pytest.raises(UserError):
        escape.nft_comment('a"b', "flow")


@pytest.mark.parametrize("value", ["a b", "a\nnetns add evil", "x#y", "", ".", "..", 'a"b',
                                   "a\\b", "a\tb"])
def test_batch_token_refuses(value: str) -> None:
    with pytest.raises(UserError, match="ip -batch"):
        escape.batch_token(value, "lab namespace")


def test_batch_namespace_takes_no_slash() -> None:
    assert escape.batch_token("10.0.0.1/24", "lab address") == "10.0.0.1/24"
    with pytest.raises(UserError):
        escape.batch_token("../x", "lab namespace", slash=False)


def test_ip_batch_refuses_a_second_command_before_running_ip() -> None:
    with pytest.raises(UserError, match="control character"):
        net.ip_batch(["link set lo up\nnetns add evil"])
    with pytest.raises(UserError, match="ip -batch"):
        net.add_namespaces(["ok", "evil name"])


@pytest.mark.parametrize(("value", "written"), [
    ("/tmp/a b/key", '"/tmp/a b/key"'),
    ('/tmp/"q', '"/tmp/\\"q"'),
    ("/tmp/plain", "/tmp/plain"),
    ("/tmp/%d", "/tmp/%%d"),
])
def test_ssh_config_value_quoted_as_ssh_reads_it(tmp_path: Path, value: str,
                                                   written: str) -> None:
    got = escape.ssh_config_value(value, "IdentityFile", tokens=True)
    assert got == written
    cfg = tmp_path / "cfg"
    cfg.write_text(f"Host h\n    IdentityFile {got}\n")
    res = subprocess.run(["ssh", "-G", "-F", str(cfg), "h"], capture_output=True, text=True,
                         check=True, stdin=subprocess.DEVNULL)
    # ssh -G prints the argument as parsed, before %-token expansion (%% stays %%).
    assert f"\nidentityfile {value.replace('%', '%%')}\n" in res.stdout


@pytest.mark.parametrize("value", ["a b", "a*", "!a", "a,b", "a\nHost *", "", "a#"])
def test_ssh_host_pattern_refuses(value: str) -> None:
    with pytest.raises(UserError):
        escape.ssh_host_pattern(value, "lab host name")


def test_proxy_word_quotes_and_doubles_percent() -> None:
    assert escape.proxy_word("/usr/bin/python3", "p") == "/usr/bin/python3"
    assert escape.proxy_word("/a b/%h", "p") == "'/a b/%%h'"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx",
                                   "=HYPERLINK(\"http://x\")"])
def test_csv_formula_cells_neutralised(value: str) -> None:
    data = csv_bytes(["a", "b"], [["ok", value], [value, 3]])
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert rows[1] == ["ok", "'" + value] and rows[2] == ["'" + value, "3"]
    assert all(len(r) == 2 for r in rows)


def test_csv_numbers_stay_numbers() -> None:
    assert csv_bytes(["n", "x"], [[-1, -2.5]]) == b"n,x\n-1,-2.5\n"
