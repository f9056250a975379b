"""devices.csv, cabling.csv and bom.csv: the tables everyone else's tools read."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from rscctl.export.addresses import ADDRESS_COLUMNS, address_rows
from rscctl.export.tables import (
    BOM_COLUMNS,
    CABLE_COLUMNS,
    DEVICE_COLUMNS,
    bom_rows,
    cable_rows,
    device_rows,
)
from rscctl.outputs import Files
from rscctl.planner.model import Plan


def csv_bytes(columns: Iterable[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def export_csv(plan: Plan) -> Files:
    return {
        "devices.csv": csv_bytes(DEVICE_COLUMNS, device_rows(plan)),
        "cabling.csv": csv_bytes(CABLE_COLUMNS, cable_rows(plan)),
        "bom.csv": csv_bytes(BOM_COLUMNS, bom_rows(plan)),
        "addresses.csv": csv_bytes(ADDRESS_COLUMNS, address_rows(plan)),
    }
