"""netbox/ exporter read back with csv against NetBox's documented import columns and choices.

Source of the column sets and choice values below (checked 2026-11 with the search tool):
netbox-community/netbox, netbox/dcim/forms/bulk_import.py (Meta.fields of SiteImportForm,
LocationImportForm, RackImportForm, ManufacturerImportForm, DeviceTypeImportForm,
DeviceRoleImportForm, DeviceImportForm, InterfaceImportForm, CableImportForm) and
netbox/dcim/choices.py (SiteStatusChoices, LocationStatusChoices, RackStatusChoices,
RackWidthChoices, DeviceStatusChoices, DeviceFaceChoices, LinkStatusChoices, CableTypeChoices,
CableLengthUnitChoices, InterfaceTypeChoices).
"""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest

from rscctl.export import EXPORTERS
from rscctl.export.netbox import export_netbox
from rscctl.planjson import generate_plan_json, parse_plan_json
from rscctl.planner.model import Plan

# Import form fields (Meta.fields), and the ones the forms require.
FIELDS = {
    "sites": {"name", "slug", "status", "region", "group", "tenant", "facility", "time_zone",
              "description", "physical_address", "shipping_address", "latitude", "longitude",
              "comments", "tags"},
    "locations": {"site", "parent", "name", "slug", "status", "tenant", "facility",
                  "description", "tags"},
    "racks": {"site", "location", "name", "facility_id", "tenant", "status", "role",
              "form_factor", "serial", "asset_tag", "width", "u_height", "desc_units",
              "outer_width", "outer_depth", "outer_unit", "mounting_depth", "airflow", "weight",
              "max_weight", "weight_unit", "description", "comments", "tags"},
    "manufacturers": {"name", "slug", "description", "tags"},
    "device_types": {"manufacturer", "default_platform", "model", "slug", "part_number",
                     "u_height", "exclude_from_utilization", "is_full_depth", "subdevice_role",
                     "airflow", "description", "weight", "weight_unit", "comments", "tags"},
    "device_roles": {"name", "slug", "color", "vm_role", "config_template", "description",
                     "tags"},
    "devices": {"name", "role", "tenant", "manufacturer", "device_type", "platform", "serial",
                "asset_tag", "status", "site", "location", "rack", "position", "face",
                "latitude", "longitude", "parent", "device_bay", "airflow", "virtual_chassis",
                "vc_position", "vc_priority", "cluster", "description", "config_template",
                "comments", "tags"},
    "interfaces": {"device", "name", "label", "parent", "bridge", "lag", "type", "speed",
                   "duplex", "enabled", "mark_connected", "wwn", "vdcs", "mtu", "mgmt_only",
                   "description", "poe_mode", "poe_type", "mode", "vrf", "rf_role",
                   "rf_channel", "rf_channel_frequency", "rf_channel_width", "tx_power",
                   "tags"},
    "cables": {"side_a_device", "side_a_type", "side_a_name", "side_b_device", "side_b_type",
               "side_b_name", "type", "status", "tenant", "label", "color", "length",
               "length_unit", "description", "comments", "tags"},
}
REQUIRED = {
    "sites": {"name", "slug", "status"},
    "locations": {"site", "name", "slug", "status"},
    "racks": {"site", "name", "status", "width"},
    "manufacturers": {"name", "slug"},
    "device_types": {"manufacturer", "model", "slug"},
    "device_roles": {"name", "slug"},
    "devices": {"role", "manufacturer", "device_type", "status", "site"},
    "interfaces": {"device", "name", "type"},
    "cables": {"side_a_device", "side_a_type", "side_a_name", "side_b_device", "side_b_type",
               "side_b_name"},
}
ORDER = ["sites", "locations", "racks", "manufacturers", "device_types", "device_roles",
         "devices", "interfaces", "cables"]
SITE_STATUS = {"planned", "staging", "active", "decommissioning", "retired"}
RACK_STATUS = {"reserved", "available", "planned", "active", "deprecated"}
DEVICE_STATUS = {"offline", "active", "planned", "staged", "failed", "inventory",
                 "decommissioning"}
LINK_STATUS = {"connected", "planned", "decommissioning"}
CABLE_TYPES = {"cat3", "cat5", "cat5e", "cat6", "cat6a", "cat7", "cat7a", "cat8", "dac-active",
               "dac-passive", "mrj21-trunk", "coaxial", "mmf", "mmf-om1", "mmf-om2", "mmf-om3",
               "mmf-om4", "mmf-om5", "smf", "smf-os1", "smf-os2", "aoc", "power"}
LENGTH_UNITS = {"km", "m", "cm", "mi", "ft", "in"}
INTERFACE_TYPES = {"1000base-t", "10gbase-x-sfpp", "25gbase-x-sfp28", "40gbase-x-qsfpp",
                   "50gbase-x-sfp56", "100gbase-x-qsfp28", "200gbase-x-qsfp56",
                   "400gbase-x-qsfpdd", "800gbase-x-osfp", "infiniband-sdr", "infiniband-ddr",
                   "infiniband-qdr", "infiniband-fdr10", "infiniband-fdr", "infiniband-edr",
                   "infiniband-hdr", "infiniband-ndr", "infiniband-xdr", "other"}

Tables = dict[str, list[dict[str, str]]]


def read_tables(plan: Plan) -> Tables:
    files = export_netbox(plan)
    names = sorted(files)
    assert names == [f"netbox/{i:02d}_{k}.csv" for i, k in enumerate(ORDER, start=1)]
    out: Tables = {}
    for name, kind in zip(names, ORDER, strict=True):
        reader = csv.DictReader(io.StringIO(files[name].decode("utf-8")))
        cols = set(reader.fieldnames or ())
        assert cols <= FIELDS[kind], (kind, cols - FIELDS[kind])
        assert REQUIRED[kind] <= cols, (kind, REQUIRED[kind] - cols)
        out[kind] = list(reader)
        for row in out[kind]:
            for col in REQUIRED[kind]:
                assert row[col] != "", (kind, col, row)
    return out


@pytest.fixture(scope="module")
def p1(phase1_plan: Plan) -> Tables:
    return read_tables(phase1_plan)


def test_registered_and_deterministic(phase1_plan: Plan) -> None:
    assert EXPORTERS["netbox"] is export_netbox
    again = parse_plan_json(generate_plan_json(phase1_plan))
    assert export_netbox(phase1_plan) == export_netbox(again)


def test_choice_values(p1: Tables) -> None:
    assert [r["name"] for r in p1["sites"]] == ["RSC"]  # declared `site`, shared by phases
    assert {r["status"] for r in p1["sites"] + p1["locations"]} <= SITE_STATUS
    assert {r["status"] for r in p1["racks"]} <= RACK_STATUS
    assert {r["width"] for r in p1["racks"]} <= {"10", "19", "21", "23"}
    assert {r["status"] for r in p1["devices"]} <= DEVICE_STATUS
    assert {r["face"] for r in p1["devices"]} <= {"front", "rear", ""}
    assert {r["type"] for r in p1["interfaces"]} <= INTERFACE_TYPES
    cables = p1["cables"]
    assert {r["status"] for r in cables} <= LINK_STATUS
    assert {r["type"] for r in cables} <= CABLE_TYPES
    assert {r["length_unit"] for r in cables} == {"m"} <= LENGTH_UNITS
    assert {r["side_a_type"] for r in cables} == {r["side_b_type"] for r in cables} == {
        "dcim.interface"}
    assert all(float(r["length"]) > 0 for r in cables)
    assert all(len(r["color"]) in (0, 6) for r in p1["device_roles"] + cables)
    for r in p1["interfaces"]:
        assert r["mgmt_only"] in ("true", "false") and (r["speed"] == "" or int(r["speed"]) > 0)


def test_every_cable_once(phase1_plan: Plan, p1: Tables) -> None:
    got = Counter((r["side_a_device"], r["side_a_name"], r["side_b_device"], r["side_b_name"])
                  for r in p1["cables"])
    want = Counter((c.a_device, c.a_port, c.b_device, c.b_port) for c in phase1_plan.cables)
    assert got == want and max(got.values()) == 1
    labels = [r["label"] for r in p1["cables"]]
    assert len(set(labels)) == len(labels) == len(phase1_plan.cables)
    assert all(len(x) <= 100 for x in labels)  # Cable.label max_length
    ends = Counter(e for r in p1["cables"] for e in ((r["side_a_device"], r["side_a_name"]),
                                                    (r["side_b_device"], r["side_b_name"])))
    assert max(ends.values()) == 1  # NetBox refuses a second cable on an interface


def test_references_defined_in_earlier_files(p1: Tables) -> None:
    sites = {r["name"] for r in p1["sites"]}
    locations: set[str] = set()
    for r in p1["locations"]:
        assert r["site"] in sites and (r["parent"] == "" or r["parent"] in locations)
        locations.add(r["name"])
    assert all(r["site"] in sites and r["location"] in locations for r in p1["racks"])
    racks = {r["name"]: int(r["u_height"]) for r in p1["racks"]}
    vendors = {r["name"] for r in p1["manufacturers"]}
    types = {r["model"]: r for r in p1["device_types"]}
    assert all(t["manufacturer"] in vendors for t in types.values())
    roles = {r["name"] for r in p1["device_roles"]}
    devices = set()
    for r in p1["devices"]:
        assert r["role"] in roles and r["rack"] in racks and r["location"] in locations
        t = types[r["device_type"]]
        assert r["manufacturer"] == t["manufacturer"]
        if r["position"]:
            top = int(r["position"]) + int(t["u_height"]) - 1
            assert top <= racks[r["rack"]], r
        else:
            assert t["u_height"] == "0", r  # only zero-U devices stay unpositioned
        devices.add(r["name"])
    assert len(devices) == len(p1["devices"])
    interfaces = Counter((r["device"], r["name"]) for r in p1["interfaces"])
    assert max(interfaces.values()) == 1
    assert {d for d, _ in interfaces} <= devices
    for r in p1["cables"]:
        for side in ("a", "b"):
            assert (r[f"side_{side}_device"], r[f"side_{side}_name"]) in interfaces, r


def test_rack_units_never_overlap(p1: Tables) -> None:
    """NetBox refuses a device whose units are taken: check as it would."""
    height = {r["model"]: int(r["u_height"]) for r in p1["device_types"]}
    taken: dict[tuple[str, int], str] = {}
    for r in p1["devices"]:
        if not r["position"]:
            continue
        for u in range(int(r["position"]), int(r["position"]) + height[r["device_type"]]):
            assert (r["rack"], u) not in taken, (r["name"], taken.get((r["rack"], u)))
            taken[(r["rack"], u)] = r["name"]


def test_types_follow_each_fabric(phase1_plan: Plan, p1: Tables) -> None:
    """Compute ports are InfiniBand HDR; every other fabric's ports are Ethernet by speed."""
    types = {(r["device"], r["name"]): r["type"] for r in p1["interfaces"]}
    by_fabric: dict[str, set[str]] = {}
    for c in phase1_plan.cables:
        by_fabric.setdefault(c.fabric, set()).update(
            {types[(c.a_device, c.a_port)], types[(c.b_device, c.b_port)]})
    assert by_fabric.pop("compute") == {"infiniband-hdr"}
    for fabric, seen in by_fabric.items():
        assert not any(t.startswith("infiniband") for t in seen), (fabric, seen)
        assert "other" not in seen, fabric
    media = {c.media: c for c in phase1_plan.cables}
    cable_type = {(r["side_a_device"], r["side_a_name"]): r["type"] for r in p1["cables"]}
    want = {"dac": "dac-passive", "aoc": "aoc", "fibre": "mmf-om4", "utp": "cat6"}
    for m, c in media.items():
        assert cable_type[(c.a_device, c.a_port)] == want[m]
    dgx = {r["name"]: r for r in p1["interfaces"] if r["device"] == "dgx0001"}
    assert dgx["mlx5_0"]["type"] == "infiniband-hdr" and dgx["mlx5_0"]["speed"] == "200000000"
    assert dgx["bmc"]["type"] == "1000base-t" and dgx["bmc"]["mgmt_only"] == "true"
