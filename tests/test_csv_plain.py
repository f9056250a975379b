"""csv_bytes writes plain rows by joining them: it must give exactly what csv.writer gives."""

from __future__ import annotations

import csv
import io
from typing import Any

from rscctl.export.csvs import csv_bytes

ROWS: list[list[Any]] = [
    ["C1-S001-N01-R1", "compute", 3, 1.5, 10.0, "H1-A01-01-U01 dgx0001:mlx5_0 > leaf:1"],
    ["", "", ""],
    [""],
    ["only"],
    ["a,b", "c"],
    ['say "hi"', "x"],
    ["line\nbreak", "x"],
    [None, "x", None],
    [True, False, 0, -1, 1e-7, 2.5e20],
    [" leading", "trailing ", "tab\there", "ünïcode", "semi;colon", "quote'single"],
]


def reference(columns: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def test_same_bytes_as_csv_writer() -> None:
    columns = ["c1", "c2", "c3"]
    assert csv_bytes(columns, ROWS) == reference(columns, ROWS)


def test_carriage_return_is_quoted() -> None:
    """csv.writer leaves a lone CR unquoted (readers end the row there); csv_bytes quotes it."""
    data = csv_bytes(["h", "i"], [["carriage\rreturn", "x"]])
    assert data == b'h,i\n"carriage\rreturn",x\n'
    assert list(csv.reader(io.StringIO(data.decode(), newline=""))) == [
        ["h", "i"], ["carriage\rreturn", "x"]]


def test_each_row_alone() -> None:
    for row in ROWS:
        assert csv_bytes(["h"], [row]) == reference(["h"], [row]), row
