"""Each output grammar's rule for a value, once: escape what the grammar can quote, refuse the rest.

Declarations are checked at load (rscctl.declare); this is the defence behind that: a value
that reaches a line-oriented file (a systemd unit, tlshd's key file, a zone, /etc/hosts, an nft
ruleset, an `ip -batch` script, ssh_config) must not be able to add a line, a record, an alias
or a token. Where the grammar has a quoting rule for a character it is applied; where it has
none the value is refused with a UserError naming the field, and nothing is written (every
exporter renders before `rscctl plan` writes).

Templates that Ansible also renders (templates/nfs/, templates/firewall/) may use only Jinja's
built-in filters, so their escapes are spelled there (`replace('%', '%%')`) and the checks that
make those escapes sufficient live here, applied to the data both renderers get.
"""

from __future__ import annotations

import re
import shlex
import unicodedata

from rscctl.errors import UserError

# C0, DEL, C1 (NEL among them) and the Unicode line and paragraph separators: anything a reader
# of some format may take as the end of a line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# An RFC 1123 host label: letters, digits and inner hyphens, 1 to 63 characters.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# nft's scanner (`string` in src/scanner.l): a letter, `_` or `.`, then letters, digits, `/-_.`.
_NFT_IDENT = re.compile(r"[A-Za-z_.][A-Za-z0-9/_.-]*")
NFT_NAME_MAX = 255  # NFT_NAME_MAXLEN - 1 (tables, chains, sets)
NFT_COMMENT_MAX = 128  # nft: "comment too long, 128 characters maximum allowed"
NFT_LOG_PREFIX_MAX = 127  # NF_LOG_PREFIXLEN - 1
UNIT_NAME_MAX = 255  # systemd UNIT_NAME_MAX - 1, and a file name's limit
# Formula prefixes of spreadsheet programs (OWASP, CSV injection), tab and CR among them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BATCH_WORD = re.compile(r"[A-Za-z0-9_.:/-]+")


def _refuse(field: str, value: str, why: str, fix: str) -> UserError:
    return UserError(f"{field}={value!r}: {why}; {fix}")


def plain_text(value: str, field: str) -> str:
    """A value that stays on its line: no control character, line or paragraph separator."""
    m = _CONTROL.search(value)
    if m:
        name = unicodedata.name(m.group(), f"U+{ord(m.group()):04X}")
        raise _refuse(field, value, f"holds a control character ({name})",
                      "remove it (free text is one line of printable characters)")
    return value


def host_label(value: str, field: str) -> str:
    """An RFC 1123 label (letters, digits, inner hyphens, at most 63): a host name, a DNS
    owner name, an /etc/hosts alias. Anything else could split into two names or records."""
    if not _LABEL.fullmatch(value):
        raise _refuse(field, value, "is not a host name (RFC 1123 label: letters, digits and "
                      "inner hyphens, 1-63 characters)",
                      "use e.g. dgx0001 or leaf-s001-r1")
    return value


def dns_name(value: str, field: str) -> str:
    """A dotted domain name of RFC 1123 labels, at most 253 characters, no trailing dot."""
    if len(value) > 253 or not all(_LABEL.fullmatch(p) for p in value.split(".")):
        raise _refuse(field, value, "is not a domain name (dot-separated RFC 1123 labels, at "
                      "most 253 characters)", "use e.g. rsc.internal")
    return value


def bind_string(value: str, field: str) -> str:
    """The text of a quoted string in named.conf: one line, no `"` or backslash."""
    plain_text(value, field)
    if '"' in value or "\\" in value:
        raise _refuse(field, value, "holds a quote or backslash, which named.conf strings "
                      "cannot hold here", "remove it")
    return value


def bounded_int(value: object, field: str, lo: int, hi: int) -> int:
    """An integer in [lo, hi] (a zone's serial or TTL), written as digits only."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise UserError(f"{field}={value!r}: must be a whole number from {lo} to {hi}")
    return value


def systemd_value(value: str, field: str) -> str:
    """A value for a systemd unit line (systemd.syntax(7)).

    A line break would start a new setting and a trailing backslash joins the next line, so
    both are refused; leading and trailing blanks are stripped by systemd, so they are refused
    too. `%` starts a specifier: `systemd_specifiers` doubles it (the templates spell that as
    `replace('%', '%%')` for Ansible).
    """
    plain_text(value, field)
    if value != value.strip(" \t"):
        raise _refuse(field, value, "begins or ends with a blank, which systemd drops",
                      "remove the blanks")
    if value.endswith("\\"):
        raise _refuse(field, value, "ends with a backslash, which joins the next line of the "
                      "unit", "remove the trailing backslash")
    return value


def systemd_specifiers(value: str) -> str:
    """`%` -> `%%`, as systemd.unit(5) says for a literal percent sign."""
    return value.replace("%", "%%")


def systemd_escape_path(path: str) -> str:
    """`systemd-escape --path`: outer slashes dropped, inner '/' -> '-', every byte other than
    ASCII letters, digits, ':', '_' and a non-leading '.' as \\xNN (of its UTF-8 bytes)."""
    out = []
    for i, byte in enumerate(path.strip("/").encode("utf-8")):
        ch = chr(byte)
        if ch == "/":
            out.append("-")
        elif (ch.isascii() and ch.isalnum()) or ch in ":_" or (ch == "." and i > 0):
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out) or "-"


def mount_point(path: str, field: str) -> str:
    """An absolute, normalised path whose mount unit name systemd accepts."""
    systemd_value(path, field)
    parts = path.split("/")[1:]
    if (not path.startswith("/") or (path != "/" and path.endswith("/"))
            or any(p in ("", ".", "..") for p in parts if path != "/")):
        raise _refuse(field, path, "is not a normalised absolute path (no //, /./, /../ or "
                      "trailing /)", "write it as e.g. /mnt/datasets")
    if len(systemd_escape_path(path)) + len(".mount") > UNIT_NAME_MAX:
        raise _refuse(field, path, f"gives a mount unit name over {UNIT_NAME_MAX} characters",
                      "use a shorter mount point")
    return path


def keyfile_value(value: str, field: str) -> str:
    """A value of a GLib key file (tlshd.conf): one line; blanks at either end would be lost
    (GLib trims them unless written as \\s), so they are refused. A backslash starts an escape:
    `keyfile_escape` doubles it (the template spells that as `replace('\\\\', '\\\\\\\\')`)."""
    plain_text(value, field)
    if value != value.strip(" \t"):
        raise _refuse(field, value, "begins or ends with a blank, which tlshd.conf drops",
                      "remove the blanks")
    return value


def keyfile_escape(value: str) -> str:
    """`\\` -> `\\\\`: GLib reads `\\s`, `\\n`, `\\t`, `\\r` and `\\\\` as escapes in values."""
    return value.replace("\\", "\\\\")


def nft_identifier(value: str, field: str) -> str:
    """A name nft scans as one identifier (a set, a table)."""
    if not _NFT_IDENT.fullmatch(value) or len(value.encode()) > NFT_NAME_MAX:
        raise _refuse(field, value, "is not an nft identifier (a letter, '_' or '.', then "
                      f"letters, digits, '/', '-', '_', '.'; at most {NFT_NAME_MAX} bytes)",
                      "use letters, digits and hyphens")
    return value


def nft_string(value: str, field: str, limit: int) -> str:
    """The text of an nft quoted string: nft has no escape for `"`, so it and line breaks are
    refused, as is text over `limit` bytes (nft refuses long comments and log prefixes)."""
    plain_text(value, field)
    if '"' in value:
        raise _refuse(field, value, "holds a double quote, which nft strings cannot hold",
                      "remove it")
    if len(value.encode()) > limit:
        raise _refuse(field, value, f"is over nft's {limit} bytes for this string",
                      "shorten it")
    return value


def nft_comment(value: str, field: str) -> str:
    """A rule or set comment: checked like any nft string, cut (with '...') at nft's 128 bytes,
    since comments are made from names and only describe the rule."""
    plain_text(value, field)
    if '"' in value:
        raise _refuse(field, value, "holds a double quote, which nft strings cannot hold",
                      "remove it")
    data = value.encode()
    if len(data) <= NFT_COMMENT_MAX:
        return value
    return data[:NFT_COMMENT_MAX - 3].decode("utf-8", "ignore") + "..."


def batch_token(value: str, field: str, slash: bool = True) -> str:
    """One word of an `ip -batch` line (ip splits lines on blanks, reads `#` as a comment and
    quotes with `"`; a namespace name is a file in /run/netns): letters, digits and `_.:/-`
    only, `/` not in a namespace name, never `.` or `..`."""
    if (not _BATCH_WORD.fullmatch(value) or value in (".", "..") or len(value) > 255
            or (not slash and "/" in value)):
        raise _refuse(field, value, "cannot be one word of an ip -batch line",
                      "use letters, digits and '-', '_', '.', ':'" + (", '/'" if slash else "")
                      + " (at most 255)")
    return value


def batch_line(line: str, field: str = "ip -batch line") -> str:
    """A whole `ip -batch` line: refused if it holds a line break or other control character,
    which would start a second command."""
    return plain_text(line, field)


def ssh_config_value(value: str, field: str, tokens: bool = False) -> str:
    """A value for an ssh_config(5) line. ssh splits a line into arguments like a shell does
    (double quotes group, backslash escapes `"`, `'` and `\\`), so a value with a blank or
    one of those is written quoted and escaped; `tokens` doubles `%` for keys that expand
    %-tokens (IdentityFile, UserKnownHostsFile)."""
    plain_text(value, field)
    if tokens:
        value = value.replace("%", "%%")
    if value and re.fullmatch(r"[A-Za-z0-9_@%+=:,./~-]+", value):
        return value
    return '"' + re.sub(r'([\\"\'])', r"\\\1", value) + '"'


def ssh_host_pattern(value: str, field: str) -> str:
    """A `Host` pattern that matches exactly this host: no blank (a second pattern), no `*`,
    `?`, `!` or `,` (pattern syntax), no quote or `#`."""
    plain_text(value, field)
    if not value or re.search(r"[\s*?!,\"'\\#%]", value):
        raise _refuse(field, value, "cannot be an ssh_config Host pattern (blank, pattern or "
                      "quote character)", "use a host name such as dgx0001")
    return value


def proxy_word(value: str, field: str) -> str:
    """A word of a ProxyCommand: ssh runs the line through /bin/sh after expanding %-tokens,
    so the word is shell-quoted and its `%` doubled."""
    plain_text(value, field)
    return shlex.quote(value).replace("%", "%%")


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text beginning with =, +, -, @, tab or CR gets a
    leading ' (OWASP's advice against CSV injection). Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
