"""NetBox's model name of each object type rscctl pushes, as extras/tagged-objects gives it
(no NetBox needed): ownership is read by it, so a wrong name would own nothing."""

from __future__ import annotations

from rscctl.netbox.state import KINDS


def test_object_type_of_every_kind() -> None:
    assert {k.endpoint: k.object_type for k in KINDS} == {
        "dcim/sites": "dcim.site", "dcim/locations": "dcim.location",
        "dcim/racks": "dcim.rack", "dcim/manufacturers": "dcim.manufacturer",
        "dcim/device-types": "dcim.devicetype", "dcim/device-roles": "dcim.devicerole",
        "dcim/devices": "dcim.device", "dcim/interfaces": "dcim.interface",
        "dcim/cables": "dcim.cable",
    }
