"""netbox/: CSV files for NetBox's bulk import, numbered in the order they must be imported.

Column names and choice values are NetBox's own, as its import forms declare them
(netbox-community/netbox, netbox/dcim/forms/bulk_import.py: SiteImportForm, LocationImportForm,
RackImportForm, ManufacturerImportForm, DeviceTypeImportForm, DeviceRoleImportForm,
DeviceImportForm, InterfaceImportForm, CableImportForm; choices from netbox/dcim/choices.py).
Objects refer to each other by name, as those forms look them up (device_type by `model`).

Every fabric of the plan is exported the same way: an interface's type comes from the cable
class on it (an InfiniBand class gives infiniband-<class>, anything else Ethernet by port
speed), an uncabled port takes the class its model's cabled ports of the same kind carry.
Everything is `planned`: NetBox holds what is to be built until someone marks it otherwise.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rscctl.declare.catalog import CableFamily, HardwareModel
from rscctl.export.csvs import csv_bytes
from rscctl.export.tables import fmt_length
from rscctl.outputs import Files
from rscctl.planner.model import Plan

STATUS = "planned"  # a valid value of Site/Location/Rack/Device status and of cable status
RACK_WIDTH_IN = 19  # RackWidthChoices: 10, 19, 21, 23
TERMINATION = "dcim.interface"

# Cable media (catalog CableFamily.media) -> CableTypeChoices.
CABLE_TYPES: dict[str, str] = {
    "dac": "dac-passive",
    "aoc": "aoc",
    "fibre": "mmf-om4",
    "copper": "cat6",
    "utp": "cat6",
}
# A fibre family's description may name its grade; a twisted-pair class may name its category.
FIBRE_GRADES: dict[str, str] = {"OM3": "mmf-om3", "OM4": "mmf-om4", "OM5": "mmf-om5",
                                "OS1": "smf-os1", "OS2": "smf-os2"}
COPPER_CLASSES = {"cat5e", "cat6", "cat6a", "cat7", "cat8"}

# InfiniBand cable classes -> InterfaceTypeChoices (the 1X names, valid in NetBox 3.x and 4.x).
IB_CLASSES = ("sdr", "ddr", "qdr", "fdr10", "fdr", "edr", "hdr", "ndr", "xdr")
# Ethernet by port speed in Gb/s -> InterfaceTypeChoices.
ETHERNET_TYPES: dict[float, str] = {
    1: "1000base-t",
    10: "10gbase-x-sfpp",
    25: "25gbase-x-sfp28",
    40: "40gbase-x-qsfpp",
    50: "50gbase-x-sfp56",
    100: "100gbase-x-qsfp28",
    200: "200gbase-x-qsfp56",
    400: "400gbase-x-qsfpdd",
    800: "800gbase-x-osfp",
}

# Device role colours (hex, no #); roles not listed get one from PALETTE by name.
ROLE_COLORS: dict[str, str] = {
    "gpu-node": "4caf50", "compute-leaf": "2196f3", "compute-spine": "3f51b5",
    "storage-leaf": "ff9800", "storage-spine": "e65100", "storage-system": "795548",
    "inband-switch": "9c27b0", "oob-switch": "607d8b", "mgmt-core": "673ab7",
    "pdu": "9e9e9e", "bastion": "f44336", "ingest-gateway": "00bcd4",
    "management-host": "8bc34a",
}
PALETTE = ("e91e63", "009688", "cddc39", "ffc107", "03a9f4", "ff5722", "8d6e63", "aa1409")

SITE_COLUMNS = ("name", "slug", "status", "description")
LOCATION_COLUMNS = ("site", "parent", "name", "slug", "status", "description")
RACK_COLUMNS = ("site", "location", "name", "status", "width", "u_height", "description")
MANUFACTURER_COLUMNS = ("name", "slug")
DEVICE_TYPE_COLUMNS = ("manufacturer", "model", "slug", "part_number", "u_height",
                       "is_full_depth", "description")
DEVICE_ROLE_COLUMNS = ("name", "slug", "color", "description")
DEVICE_COLUMNS = ("name", "role", "manufacturer", "device_type", "status", "site", "location",
                  "rack", "position", "face", "description")
INTERFACE_COLUMNS = ("device", "name", "type", "speed", "mgmt_only", "description")
CABLE_COLUMNS = ("side_a_device", "side_a_type", "side_a_name", "side_b_device", "side_b_type",
                 "side_b_name", "type", "status", "label", "color", "length", "length_unit",
                 "description")

Row = Sequence[Any]


def slug(text: str) -> str:
    """NetBox slugs: lower-case letters, digits, - and _."""
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-") or "x"


def site_name(plan: Plan) -> str:
    """The NetBox site: `site` from the plan's facts when declared, else the build's name."""
    return plan.facts.site or plan.build


def location_of(hall: str, row: str) -> str:
    """Row locations carry their hall, so names stay unique in the site (import looks
    locations up by name)."""
    return f"{hall}-{row}"


def cable_type(media: str, family: CableFamily | None) -> str:
    if family is None:
        return ""
    if media == "fibre":
        desc = family.description.upper()
        return next((t for grade, t in FIBRE_GRADES.items() if grade in desc), CABLE_TYPES[media])
    if media in ("utp", "copper") and family.cable_class in COPPER_CLASSES:
        return family.cable_class
    return CABLE_TYPES.get(media, "")


def interface_type(cable_class: str | None, speed_gbps: float) -> str:
    if cable_class in IB_CLASSES:
        return f"infiniband-{cable_class}"
    return ETHERNET_TYPES.get(speed_gbps, "other")


class _Ports:
    """Every interface of every device, with the cable class that decides its type."""

    def __init__(self, plan: Plan, models: Mapping[str, HardwareModel]) -> None:
        self.models = models
        self._groups: dict[str, dict[str, str]] = {
            m: {p.name: p.kind for p in hm.ports} for m, hm in models.items()
        }
        families: dict[tuple[str, str], CableFamily] = {
            (f.media, part): f for f in plan.cable_families for part in f.parts.values()}
        self.families = families
        self.cls: dict[tuple[str, str], str] = {}
        devices = plan.device_index()
        votes: dict[tuple[str, str], Counter[str]] = {}
        self.extra: dict[str, list[str]] = {}
        self.switch_names = {m: hm.switch_port_names() for m, hm in models.items()}
        known = {m: ({p.name for p in hm.ports}, set(self.switch_names[m]))
                 for m, hm in models.items()}
        for c in plan.cables:
            family = families.get((c.media, c.part_number))
            for dev, port in ((c.a_device, c.a_port), (c.b_device, c.b_port)):
                model = devices[dev].model
                named, switch = known[model]
                if port not in named and port not in switch:
                    self.extra.setdefault(dev, []).append(port)
                if family is None:
                    continue
                self.cls[(dev, port)] = family.cable_class
                key = (model, self.group(model, port))
                if key not in votes:
                    votes[key] = Counter()
                votes[key][family.cable_class] += 1
        self.model_cls = {k: v.most_common(1)[0][0] for k, v in votes.items()}

    def group(self, model: str, port: str) -> str:
        """Ports of one kind on one model share a technology: its named port kind, or 'switch'."""
        return self._groups[model].get(port, "switch")

    def rows(self, device: str, model_name: str) -> Iterator[Row]:
        model = self.models[model_name]
        sw_cls = self.model_cls.get((model_name, "switch"))
        for name in self.switch_names[model_name]:
            cls = self.cls.get((device, name), sw_cls)
            yield self._row(device, name, cls, model.switch_port_speed_gbps, False)
        for p in model.ports:
            cls = self.cls.get((device, p.name), self.model_cls.get((model_name, p.kind)))
            yield self._row(device, p.name, cls, p.speed_gbps, p.kind in ("bmc", "mgmt"), p.kind)
        for name in self.extra.get(device, ()):
            yield self._row(device, name, self.cls.get((device, name)), 0, False, "not in catalog")

    @staticmethod
    def _row(device: str, name: str, cls: str | None, speed: float, mgmt: bool,
             kind: str = "") -> Row:
        kbps = int(speed * 1_000_000) if speed else ""
        return (device, name, interface_type(cls, speed), kbps, "true" if mgmt else "false", kind)



def _locations(plan: Plan, site: str) -> Iterator[Row]:
    halls = list(dict.fromkeys(r.hall for r in plan.racks))
    rows = list(dict.fromkeys((r.hall, r.row) for r in plan.racks))
    for hall in halls:
        yield (site, "", hall, slug(hall), STATUS, f"hall {hall}")
    for hall, row in rows:
        name = location_of(hall, row)
        yield (site, hall, name, slug(name), STATUS, f"hall {hall} row {row}")


def _racks(plan: Plan, site: str) -> Iterator[Row]:
    for r in plan.racks:
        what = f"{r.kind} rack" + (f", SU {r.su}" if r.su is not None else "")
        yield (site, location_of(r.hall, r.row), r.name, STATUS, RACK_WIDTH_IN, r.units, what)


def _devices(plan: Plan, site: str, models: Mapping[str, HardwareModel]) -> Iterator[Row]:
    racks = plan.rack_index()
    for d in plan.devices:
        m = models[d.model]
        r = racks[d.rack]
        racked = m.rack_units > 0
        desc = ", ".join(x for x in (f"SU {d.su}" if d.su else "",
                                     f"rail {d.rail}" if d.rail else "") if x)
        yield (d.name, d.role, m.vendor, d.model, STATUS, site, location_of(r.hall, r.row),
               d.rack, d.ru if racked else "", "front" if racked else "", desc)


def _cables(plan: Plan, families: dict[tuple[str, str], CableFamily]) -> Iterator[Row]:
    types = {k: cable_type(k[0], f) for k, f in families.items()}
    for c in plan.cables:
        yield (c.a_device, TERMINATION, c.a_port, c.b_device, TERMINATION, c.b_port,
               types.get((c.media, c.part_number), ""), STATUS, c.cable_id, "",
               fmt_length(c.length_m), "m", f"{c.fabric} {c.part_number}".strip())


def _role_color(role: str) -> str:
    if role in ROLE_COLORS:
        return ROLE_COLORS[role]
    return PALETTE[sum(role.encode()) % len(PALETTE)]


@dataclass(frozen=True)
class Table:
    """One object type as pure data: the CSV file it goes to, NetBox's import columns, rows.
    The CSV writer and `rscctl netbox push` both render these, so the mapping lives here once."""

    kind: str
    file: str
    columns: tuple[str, ...]
    rows: list[Row]

    def records(self) -> Iterator[dict[str, Any]]:
        """The rows as column -> value mappings (what the API push reads)."""
        for row in self.rows:
            yield dict(zip(self.columns, row, strict=True))


def netbox_tables(plan: Plan) -> list[Table]:
    """Every object type in import order (sites first, cables last)."""
    site = site_name(plan)
    models = plan.models
    ports = _Ports(plan, models)
    used = sorted({d.model for d in plan.devices})
    vendors = sorted({models[m].vendor for m in used})
    roles = list(dict.fromkeys(d.role for d in plan.devices))
    return [
        Table("sites", "netbox/01_sites.csv", SITE_COLUMNS,
              [(site, slug(site), STATUS, plan.description)]),
        Table("locations", "netbox/02_locations.csv", LOCATION_COLUMNS,
              list(_locations(plan, site))),
        Table("racks", "netbox/03_racks.csv", RACK_COLUMNS, list(_racks(plan, site))),
        Table("manufacturers", "netbox/04_manufacturers.csv", MANUFACTURER_COLUMNS,
              [(v, slug(v)) for v in vendors]),
        Table("device_types", "netbox/05_device_types.csv", DEVICE_TYPE_COLUMNS, [
            (models[m].vendor, m, slug(m), models[m].part_number, models[m].rack_units,
             "true" if models[m].rack_units > 0 else "false", models[m].description)
            for m in used]),
        Table("device_roles", "netbox/06_device_roles.csv", DEVICE_ROLE_COLUMNS, [
            (r, slug(r), _role_color(r), "") for r in roles]),
        Table("devices", "netbox/07_devices.csv", DEVICE_COLUMNS,
              list(_devices(plan, site, models))),
        Table("interfaces", "netbox/08_interfaces.csv", INTERFACE_COLUMNS, [
            row for d in plan.devices for row in ports.rows(d.name, d.model)]),
        Table("cables", "netbox/09_cables.csv", CABLE_COLUMNS,
              list(_cables(plan, ports.families))),
    ]


def export_netbox(plan: Plan) -> Files:
    """The nine import files, 01_sites.csv to 09_cables.csv."""
    return {t.file: csv_bytes(t.columns, t.rows) for t in netbox_tables(plan)}


__all__ = ["CABLE_COLUMNS", "CABLE_TYPES", "ETHERNET_TYPES", "IB_CLASSES", "STATUS", "Table",
           "export_netbox", "interface_type", "netbox_tables", "slug"]
