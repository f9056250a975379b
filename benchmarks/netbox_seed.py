"""Run inside NetBox's nbshell by `benchmarks/netbox_bench.py --seeded`: a plan's devices,
interfaces and cables written straight into NetBox's database (ORM bulk_create, no signals, no
change log), tagged rscctl, so that a no-change push can be timed at full size without the
hours a first push takes on a small machine. The REST reads a push makes are the same whatever
wrote the rows. Reads the JSON the benchmark writes (its path in RSCCTL_NB_SEED)."""

import json
import os
from decimal import Decimal
from pathlib import Path

from dcim.models import (
    Cable,
    CableTermination,
    Device,
    DeviceRole,
    DeviceType,
    Interface,
    Location,
    Rack,
    Site,
)
from django.contrib.contenttypes.models import ContentType
from extras.models import Tag, TaggedItem


def seed(path: str) -> None:
    d = json.loads(Path(path).read_text())
    site = Site.objects.get(name=d["site"])
    tag = Tag.objects.get(slug="rscctl")
    types = {(t.manufacturer.name, t.model): t
             for t in DeviceType.objects.select_related("manufacturer")}
    roles = {r.name: r for r in DeviceRole.objects.all()}
    locs = {x.name: x for x in Location.objects.filter(site=site)}
    racks = {r.name: r for r in Rack.objects.filter(site=site)}
    devs = Device.objects.bulk_create([Device(
        name=v["name"], site=site, status=v["status"], role=roles[v["role"]],
        device_type=types[tuple(v["device_type"])],
        location=locs[v["location"][1]] if v["location"] else None,
        rack=racks[v["rack"][1]] if v["rack"] else None,
        position=Decimal(str(v["position"])) if v["position"] is not None else None,
        face=v["face"] or None, description=v["description"]) for v in d["devices"]],
        batch_size=2000)
    by_name = {x.name: x for x in devs}
    ifs = Interface.objects.bulk_create([Interface(
        device=by_name[v["device"]], name=v["name"], type=v["type"], speed=v["speed"],
        mgmt_only=v["mgmt_only"], description=v["description"], _site=site,
        _location=by_name[v["device"]].location, _rack=by_name[v["device"]].rack)
        for v in d["interfaces"]], batch_size=5000)
    by_end = {(i.device.name, i.name): i for i in ifs}
    cables = Cable.objects.bulk_create([Cable(
        type=v["type"], status=v["status"], label=v["label"], color=v["color"],
        length=v["length"], length_unit=v["length_unit"] or None,
        description=v["description"]) for v in d["cables"]], batch_size=5000)
    ct = ContentType.objects.get_for_model(Interface)
    terms, ends = [], []
    for c, v in zip(cables, d["cables"], strict=True):
        for side, e in (("A", v["a"]), ("B", v["b"])):
            i = by_end[tuple(e)]
            terms.append(CableTermination(
                cable=c, cable_end=side, termination_type=ct, termination_id=i.id,
                _device=i.device, _rack=i._rack, _location=i._location, _site=site))
            i.cable, i.cable_end = c, side
            ends.append(i)
    CableTermination.objects.bulk_create(terms, batch_size=5000)
    Interface.objects.bulk_update(ends, ["cable", "cable_end"], batch_size=5000)
    items = []
    for model, objs in ((Device, devs), (Interface, ifs), (Cable, cables)):
        mct = ContentType.objects.get_for_model(model)
        items += [TaggedItem(tag=tag, content_type=mct, object_id=o.id) for o in objs]
    TaggedItem.objects.bulk_create(items, batch_size=5000)
    print(f"seeded {len(devs)} devices, {len(ifs)} interfaces, {len(cables)} cables")


seed(os.environ["RSCCTL_NB_SEED"])
