"""Constrained types of declaration fields: one rule per kind of field, defined once.

Every value rscctl renders into a host name, DNS record, file name, nft identifier, systemd
unit, ini file or CSV cell is checked here, at load, by the grammar of its kind; every number is
bounded by what a datacenter can hold, so a typo (10^9 racks, `.nan`) is a message, not a
MemoryError or a NaN in plan.json. Messages start with the offending value (never a field
path): the loader prefixes the field and the file:line.
"""

from __future__ import annotations

import posixpath
import re
import string
import unicodedata
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, Field

# -- names ----------------------------------------------------------------------------------

LABEL_MAX = 63
DOMAIN_MAX = 253
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
LABEL_RULE = (
    "a name is an RFC 1123 label: lowercase letters, digits and '-', at most 63 characters, "
    "not starting or ending with '-'"
)


def label_problem(value: str) -> str | None:
    """Why `value` is not a lowercase RFC 1123 label (None if it is one)."""
    if _LABEL.fullmatch(value):
        return None
    if not value:
        return "is empty"
    if len(value) > LABEL_MAX:
        return f"is {len(value)} characters long (at most {LABEL_MAX})"
    bad = sorted({c for c in value if not (c.islower() and c.isascii()) and c not in
                  "0123456789-"})
    if bad:
        return f"holds {''.join(bad)!r}"
    return "starts or ends with '-'"


def check_label(value: str) -> str:
    """The one rule of every host name, DNS label, output file stem and device name."""
    problem = label_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}; {LABEL_RULE}")
    return value


def check_domain(value: str) -> str:
    """A DNS domain: dot-separated labels, at most 253 characters."""
    if len(value) > DOMAIN_MAX:
        raise ValueError(f"{value[:40]!r}... is {len(value)} characters (at most {DOMAIN_MAX})")
    for part in value.split("."):
        problem = label_problem(part)
        if problem:
            raise ValueError(
                f"{value!r}: label {part!r} {problem}; write labels of lowercase letters, "
                "digits and '-' joined by single dots, e.g. rsc.internal"
            )
    return value


_IDENT = re.compile(r"[a-z][a-z0-9_]{0,23}")


def check_identifier(value: str) -> str:
    """An nft identifier part (zone names become sets `zone_NAME`)."""
    if not _IDENT.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an identifier; start with a lowercase letter, then lowercase "
            "letters, digits or '_', at most 24 characters"
        )
    return value


_PREFIX = re.compile(r"[a-z][a-z0-9-]*")
PREFIX_MAX = 40


def check_name_prefix(value: str) -> str:
    """The start of generated names (server groups: bastion -> bastion01)."""
    if not _PREFIX.fullmatch(value) or len(value) > PREFIX_MAX:
        raise ValueError(
            f"{value!r} is not a name prefix; start with a lowercase letter, then lowercase "
            f"letters, digits or '-', at most {PREFIX_MAX} characters"
        )
    return value


_GROUP = re.compile(r"[a-z][a-z0-9]{0,39}")


def check_group_name(value: str) -> str:
    """A storage group (fa -> fa001): its names carry no '-' so the number reads clearly."""
    if not _GROUP.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a group name; start with a lowercase letter, then lowercase "
            f"letters or digits, at most {PREFIX_MAX} characters, e.g. fa"
        )
    return value


_AREA = re.compile(r"[A-Za-z0-9]{1,16}")


def check_area(value: str) -> str:
    """A hall or row name: it becomes part of rack names (H1-A01-01) and, lowercased, of host
    names (pdu-h1-a01-01-a, inb-h1-sp-1)."""
    if not _AREA.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a hall or row name; use 1-16 letters or digits, e.g. A01"
        )
    return value


_PORT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_./-]{0,30}[A-Za-z0-9])?")
PORT_CHARS = "letters, digits and '_', '.', '/', '-'"


def check_port(value: str) -> str:
    """A port name (mlx5_0, L01/P01, Management1/1): rendered into CSVs, labels, topology
    files and, as rscctl.names.port_label, into DNS names."""
    if not _PORT.fullmatch(value) or ".." in value or "//" in value:
        raise ValueError(
            f"{value!r} is not a port name; use 1-32 {PORT_CHARS}, starting and ending with "
            "a letter or digit, e.g. mlx5_0 or L01/P01"
        )
    return value


Label = Annotated[str, AfterValidator(check_label)]
DomainName = Annotated[str, AfterValidator(check_domain)]
Identifier = Annotated[str, AfterValidator(check_identifier)]
NamePrefix = Annotated[str, AfterValidator(check_name_prefix)]
GroupName = Annotated[str, AfterValidator(check_group_name)]
AreaName = Annotated[str, AfterValidator(check_area)]
PortName = Annotated[str, AfterValidator(check_port)]


# -- name patterns --------------------------------------------------------------------------

_SPEC = re.compile(r"(0?[1-9][0-9]?)?d?")
_FORMATTER = string.Formatter()


def _braced(names: tuple[str, ...]) -> str:
    shown = [f"{{{n}}}" for n in names]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def check_pattern(
    value: str, placeholders: tuple[str, ...], required: tuple[tuple[str, ...], ...],
    literal: re.Pattern[str], literal_rule: str,
) -> str:
    """A str.format pattern: known placeholders with integer widths only, safe literal text,
    and enough placeholders (any one group of `required`) that each value gets its own name."""
    try:
        parts = list(_FORMATTER.parse(value))
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a valid pattern ({exc}); write placeholders like {{n:04d}}"
        ) from None
    used: set[str] = set()
    for text, name, spec, conversion in parts:
        if text and not literal.fullmatch(text):
            raise ValueError(f"{value!r}: literal text {text!r} may hold only {literal_rule}")
        if name is None:
            continue
        if name not in placeholders:
            raise ValueError(f"unknown placeholder {{{name}}}; use {_braced(placeholders)}")
        if conversion is not None or not _SPEC.fullmatch(spec or ""):
            raise ValueError(
                f"{value!r}: placeholder {{{name}}} may carry only a zero-padded width, e.g. "
                f"{{{name}:03d}}"
            )
        used.add(name)
    if not any(set(group) <= used for group in required):
        need = " or ".join(" and ".join(f"{{{n}}}" for n in group) for group in required)
        raise ValueError(f"{value!r} gives every device the same name; use {need}")
    return value


HOST_TEXT = re.compile(r"[a-z0-9-]+")
PORT_TEXT = re.compile(r"[A-Za-z0-9_./-]+")


def node_pattern(value: str) -> str:
    return check_pattern(value, ("n", "su", "slot"), (("n",), ("su", "slot")), HOST_TEXT,
                         "lowercase letters, digits and '-'")


def leaf_pattern(value: str) -> str:
    return check_pattern(value, ("su", "rail"), (("su", "rail"),), HOST_TEXT,
                         "lowercase letters, digits and '-'")


def spine_pattern(value: str) -> str:
    return check_pattern(value, ("n",), (("n",),), HOST_TEXT, "lowercase letters, digits and '-'")


def storage_leaf_pattern(value: str) -> str:
    return check_pattern(value, ("su", "leaf"), (("su", "leaf"),), HOST_TEXT,
                         "lowercase letters, digits and '-'")


def port_pattern(value: str) -> str:
    return check_pattern(value, ("module", "port", "n"), (("n",), ("port",)),
                         PORT_TEXT, PORT_CHARS)


NodePattern = Annotated[str, AfterValidator(node_pattern)]
LeafPattern = Annotated[str, AfterValidator(leaf_pattern)]
SpinePattern = Annotated[str, AfterValidator(spine_pattern)]
StorageLeafPattern = Annotated[str, AfterValidator(storage_leaf_pattern)]
PortPattern = Annotated[str, AfterValidator(port_pattern)]


def longest(pattern: str, maxima: Mapping[str, int]) -> str:
    """The longest value a checked pattern produces: integer widths grow with the value, so it
    is the one formatted with the largest numbers the build can need (growth included)."""
    return pattern.format(**maxima)


# -- free text ------------------------------------------------------------------------------

TEXT_MAX = 256
SHORT_TEXT_MAX = 64
# Control, format (bidi overrides, zero-width), surrogate, private-use, unassigned, and line
# or paragraph separators: none belongs in a one-line field of a CSV, unit file or zone.
_BAD_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def _check_text(value: str, limit: int) -> str:
    if len(value) > limit:
        raise ValueError(f"{value[:40]!r}... is {len(value)} characters long (at most {limit})")
    for ch in value:
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            raise ValueError(
                f"{value!r} holds the control character U+{ord(ch):04X}; write one line of "
                "plain text (no tabs, newlines or invisible characters)"
            )
    return value


def check_text(value: str) -> str:
    """A description: one line of text, spaces allowed, no control characters."""
    return _check_text(value, TEXT_MAX)


def check_short_text(value: str) -> str:
    """A vendor or site: like a description, at most 64 characters and no edge spaces."""
    _check_text(value, SHORT_TEXT_MAX)
    if value != value.strip():
        raise ValueError(f"{value!r} starts or ends with a space; remove it")
    return value


_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,63}")


def check_part_number(value: str) -> str:
    """A part number (MCP1650-H001E30): orderable codes are letters, digits and a few marks."""
    if not _PART.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a part number; use 1-64 letters, digits and '.', '_', '/', '+', "
            "'-', starting with a letter or digit"
        )
    return value


_OPTION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(?:=[A-Za-z0-9_.:/@+-]{1,128})?")


def check_mount_option(value: str) -> str:
    """One NFS mount option, `key` or `key=value` (joined by ',' into a unit's Options=)."""
    if not _OPTION.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a mount option; write key or key=value of letters, digits and "
            "'_', '.', '-' (no comma, space or newline), e.g. vers=4.2"
        )
    return value


PATH_MAX = 255
_PATH = re.compile(r"(?:/[A-Za-z0-9_.+-]+)+|/")


def check_abs_path(value: str) -> str:
    """An absolute, normalised path of safe characters (it lands in unit files and ini files)."""
    if len(value) > PATH_MAX or not _PATH.fullmatch(value) or posixpath.normpath(value) != value \
            or any(part in (".", "..") for part in value.split("/")):
        raise ValueError(
            f"{value!r} is not an absolute normalised path; write /dir/file of letters, digits "
            f"and '_', '.', '+', '-', with no '..', '//' or trailing '/' (at most {PATH_MAX})"
        )
    return value


# A mount here would hide the system; beneath the first group, one would shadow its files.
SYSTEM_DIRS = frozenset({
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32",
    "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr",
    "/var",
})
NO_MOUNT_UNDER = frozenset({
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
    "/sbin", "/sys", "/usr",
})


def check_mount_point(value: str) -> str:
    """Where an export is mounted on every node: an absolute path off the system directories."""
    check_abs_path(value)
    top = "/" + value.split("/")[1]
    if value in SYSTEM_DIRS or top in NO_MOUNT_UNDER:
        raise ValueError(
            f"{value!r} is a system directory; mount storage under a directory of its own, "
            "e.g. /mnt/checkpoints"
        )
    return value


Text = Annotated[str, AfterValidator(check_text)]
ShortText = Annotated[str, AfterValidator(check_short_text)]
PartNumber = Annotated[str, AfterValidator(check_part_number)]
MountOption = Annotated[str, AfterValidator(check_mount_option)]
AbsPath = Annotated[str, AfterValidator(check_abs_path)]
MountPoint = Annotated[str, AfterValidator(check_mount_point)]


# -- numbers (NaN and infinity are refused by Strict's allow_inf_nan=False) ------------------

MAX_RACK_UNITS = 60          # the tallest racks made are 58U
MAX_KW = 200.0               # per device or rack; liquid-cooled racks reach ~130 kW
MAX_METRES = 10_000.0        # a campus; longer runs are not a datacenter cable
MAX_POSITION = 999           # racks in a row (600 m of 0.6 m racks)
MAX_ROW_COORD = 1_000.0      # row positions in row pitches from the hall origin
MAX_SUS = 1_000
MAX_NODES = 100_000
MAX_GPUS = 1_000_000
MAX_SMALL = 1_024            # spines, leaves per SU, modules, rails, nodes per rack, ASICs
MAX_PORTS = 4_096
MAX_GBPS = 100_000.0
MAX_SYSTEMS = 10_000
MAX_SERVERS = 999            # names {group}{n:02d} stay 3 digits at most
DNS_SERIAL_MAX = 2**32 - 1   # RFC 1982 serial arithmetic
DNS_TTL_MAX = 2**31 - 1      # RFC 2181

RackUnits = Annotated[int, Field(ge=0, le=MAX_RACK_UNITS)]
RackHeight = Annotated[int, Field(gt=0, le=MAX_RACK_UNITS)]
Kilowatts = Annotated[float, Field(gt=0, le=MAX_KW)]
Metres = Annotated[float, Field(gt=0, le=MAX_METRES)]
SlackMetres = Annotated[float, Field(ge=0, le=MAX_METRES)]
Coordinate = Annotated[float, Field(ge=-MAX_METRES, le=MAX_METRES)]
RowCoordinate = Annotated[float, Field(ge=-MAX_ROW_COORD, le=MAX_ROW_COORD)]
Position = Annotated[int, Field(gt=0, le=MAX_POSITION)]
RackCount = Annotated[int, Field(gt=0, le=MAX_POSITION)]
SuCount = Annotated[int, Field(gt=0, le=MAX_SUS)]
NodeCount = Annotated[int, Field(gt=0, le=MAX_NODES)]
GpuCount = Annotated[int, Field(gt=0, le=MAX_GPUS)]
GpusPerNode = Annotated[int, Field(ge=0, le=64)]
SmallCount = Annotated[int, Field(gt=0, le=MAX_SMALL)]
PortCount = Annotated[int, Field(ge=0, le=MAX_PORTS)]
PositivePortCount = Annotated[int, Field(gt=0, le=MAX_PORTS)]
Gbps = Annotated[float, Field(gt=0, le=MAX_GBPS)]
GbpsOrZero = Annotated[float, Field(ge=0, le=MAX_GBPS)]
SystemCount = Annotated[int, Field(gt=0, le=MAX_SYSTEMS)]
ServerCount = Annotated[int, Field(gt=0, le=MAX_SERVERS)]
Petabytes = Annotated[float, Field(ge=0, le=1_000_000.0)]
GbytesPerSecond = Annotated[float, Field(ge=0, le=10_000_000.0)]
Ratio = Annotated[float, Field(gt=0, le=1_000.0)]
Days = Annotated[int, Field(gt=0, le=36_500)]
DnsSerial = Annotated[int, Field(gt=0, le=DNS_SERIAL_MAX)]
DnsTtl = Annotated[int, Field(gt=0, le=DNS_TTL_MAX)]
