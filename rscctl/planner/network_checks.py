"""Named checks of the storage fabric, the management networks and the address plan.

Declared in rscctl.planner.checks; like the compute checks they read only the Plan
(cables, devices, the catalog entries it carries, its facts), so they hold for plan.json read
back and fail on a plan a test has broken on purpose.
"""

from __future__ import annotations

import itertools
import socket
from collections import Counter
from ipaddress import IPv4Network, ip_network

from rscctl.errors import Finding
from rscctl.planner.check_context import Context
from rscctl.planner.model import Plan

# Which port kinds may sit on a cable of each fabric (switch ports are unnamed and fit any).
FABRIC_KINDS = {
    "compute": {"compute"},
    "storage": {"storage"},
    "inband": {"inband", "uplink"},
    "oob": {"bmc", "mgmt", "uplink"},
}
NETWORK_OF_KIND = {"storage": "storage", "inband": "inband", "bmc": "oob", "mgmt": "oob"}
SELF_MANAGED = {"oob-switch"}  # reached in-band through its uplink: its mgmt port stays free


def _device_kinds(plan: Plan, ctx: Context) -> dict[str, dict[str, str]]:
    """Per device, its named ports' kinds (switch ports are unnamed: not in the map)."""
    kinds = ctx.port_kinds
    return {d.name: kinds.get(d.model, {}) for d in plan.devices}


def check_fabric_ports(plan: Plan, ctx: Context) -> list[Finding]:
    """A node's port sits only on the fabric of its kind (no BMC on storage, no HCA on oob)."""
    dev_kinds = _device_kinds(plan, ctx)
    out: list[Finding] = []
    for c in plan.cables:
        allowed = FABRIC_KINDS.get(c.fabric)
        if allowed is None:
            continue
        for dev, port in ((c.a_device, c.a_port), (c.b_device, c.b_port)):
            kind = dev_kinds.get(dev, {}).get(port)
            if kind is not None and kind not in allowed:
                out.append(Finding(
                    "fabric-ports", (dev,),
                    f"cable {c.cable_id} on the {c.fabric} fabric uses {dev}:{port}, a {kind} port",
                    f"cable {dev}:{port} to the {NETWORK_OF_KIND.get(kind, kind)} network",
                ))
    return out


def check_endpoints_connected(plan: Plan, ctx: Context) -> list[Finding]:
    """Every storage, in-band, BMC and management port is cabled; access switches reach the
    cores. Networks the build does not plan (no storage or management declared) are skipped."""
    planned = set()
    if plan.facts.storage is not None:
        planned.add("storage")
    if plan.facts.management is not None:
        planned |= {"inband", "bmc", "mgmt"}
    if not planned:
        return []
    cabled = ctx.cabled_ports
    uplinks: Counter[str] = Counter()
    for c in plan.cables:
        if c.b_device.startswith("mgmt-core"):
            uplinks[c.a_device] += 1
    cores = plan.facts.management.cores if plan.facts.management else 0
    out: list[Finding] = []
    for d in plan.devices:
        m = ctx.models[d.model]
        for p in m.ports:
            if p.kind not in planned or (p.kind == "mgmt" and d.role in SELF_MANAGED):
                continue
            if (d.name, p.name) not in cabled:
                out.append(Finding(
                    "endpoints-connected", (d.name,),
                    f"{d.name}:{p.name} ({p.kind}) is not cabled",
                    f"cable it to the {NETWORK_OF_KIND[p.kind]} network",
                ))
        if d.role in ("inband-switch", "oob-switch") and uplinks[d.name] < cores:
            out.append(Finding(
                "endpoints-connected", (d.name,),
                f"access switch {d.name} has {uplinks[d.name]} uplinks to {cores} cores",
                "cable one uplink to each management core",
            ))
    return out


def check_addresses_unique(plan: Plan, ctx: Context) -> list[Finding]:
    """No address is given twice, and no interface gets two addresses on one network."""
    by_addr: dict[str, str] = {}
    by_if: set[tuple[str, str, str]] = set()
    out: list[Finding] = []
    for a in plan.addresses:
        who = f"{a.device}:{a.interface}"
        if a.address in by_addr:
            out.append(Finding("addresses-unique", (a.device,),
                               f"{a.address} is given to {by_addr[a.address]} and to {who}",
                               "allocate each address once (by position)"))
        else:
            by_addr[a.address] = who
        key = (a.device, a.interface, a.network)
        if key in by_if:
            out.append(Finding("addresses-unique", (a.device,),
                               f"{who} has two addresses on {a.network}",
                               "give an interface one address per network"))
        by_if.add(key)
    return out


def check_address_plan(plan: Plan, ctx: Context) -> list[Finding]:
    """Supernets never overlap; every address is a host of its own segment of its network's
    declared supernet, with the segment's prefix length."""
    nets = {
        name: (ip_network(v.supernet), v.segment_prefix)
        for name, v in plan.facts.networks.items()
    }
    out: list[Finding] = []
    ordered = sorted(nets.items(), key=lambda kv: kv[1][0])
    for (n1, (s1, _)), (n2, (s2, _)) in itertools.pairwise(ordered):
        if s1.overlaps(s2):
            out.append(Finding("address-plan", (), f"networks {n1} ({s1}) and {n2} ({s2}) "
                               "overlap", "give each network its own supernet"))
    bounds = {name: (int(net.network_address), int(net.broadcast_address), prefix)
              for name, (net, prefix) in nets.items()}
    for a in plan.addresses:
        if a.network not in bounds:
            out.append(Finding("address-plan", (a.device,),
                               f"{a.device}:{a.interface} is on undeclared network {a.network}",
                               f"declare networks.{a.network}"))
            continue
        lo, hi, prefix = bounds[a.network]
        try:
            ip = int.from_bytes(socket.inet_pton(socket.AF_INET, a.address), "big")
        except OSError:
            ip = -1
        host_bits = 32 - prefix
        seg = ip >> host_bits << host_bits
        problem = ""
        if ip < 0:
            problem = "is not an IPv4 address"
        elif not lo <= ip <= hi:
            problem = f"is outside {a.network}'s supernet {nets[a.network][0]}"
        elif a.prefix_len != prefix:
            problem = f"has prefix /{a.prefix_len}, its segments are /{prefix}"
        elif ip in (seg, seg + (1 << host_bits) - 1):
            problem = f"is the network or broadcast address of {IPv4Network((seg, prefix))}"
        if problem:
            out.append(Finding("address-plan", (a.device,),
                               f"{a.device}:{a.interface} {a.address} {problem}",
                               "allocate it from the plan's segments"))
    return out


def check_addresses_complete(plan: Plan, ctx: Context) -> list[Finding]:
    """Every cabled storage, in-band, BMC and management port has an address on its network;
    with IPoIB declared, so does every GPU node's compute port."""
    declared = set(plan.facts.networks)
    if not declared:
        return []
    have = {(a.device, a.interface, a.network) for a in plan.addresses}
    cabled = ctx.cabled_ports
    kinds = ctx.port_kinds
    out: list[Finding] = []
    for d in plan.devices:
        for port, kind in kinds.get(d.model, {}).items():
            net = NETWORK_OF_KIND.get(kind)
            if kind == "compute" and d.role == "gpu-node":
                net = "ipoib"
            if net is None or net not in declared or (d.name, port) not in cabled:
                continue
            if (d.name, port, net) not in have:
                out.append(Finding("addresses-complete", (d.name,),
                                   f"{d.name}:{port} is cabled but has no {net} address",
                                   "plan again; every interface gets its address from the plan"))
    return out


def check_storage_bandwidth(plan: Plan, ctx: Context) -> list[Finding]:
    """Max flow storage -> GPUs over the cabled fabric meets the declared target, and no storage
    leaf is oversubscribed past the declared ratio."""
    facts = plan.facts.storage
    if facts is None:
        return []
    numbers = ctx.storage_numbers
    gbps, over = numbers.deliverable_gbps, numbers.leaf_oversubscription
    target = facts.target_tbytes_s * 8000
    limit = facts.max_oversubscription
    out: list[Finding] = []
    if gbps + 1e-6 < target:
        out.append(Finding(
            "storage-bandwidth", (),
            f"the fabric delivers {gbps / 8000:.2f} TB/s from storage to the GPUs, below the "
            f"target of {target / 8000:g} TB/s",
            "add storage systems, leaf uplinks or spines (the smallest tier limits)",
        ))
    for leaf, ratio in sorted(over.items()):
        if ratio > limit + 1e-9:
            out.append(Finding(
                "storage-bandwidth", (leaf,),
                f"{leaf} is oversubscribed {ratio:.2f}:1, more than the declared {limit:g}:1",
                f"cable more uplinks from {leaf} to the storage spines",
            ))
    return out


def storage_summary(plan: Plan, ctx: Context) -> str:
    facts = plan.facts.storage
    if facts is None:
        return "no storage declared"
    numbers = ctx.storage_numbers
    gbps, over = numbers.deliverable_gbps, numbers.leaf_oversubscription
    target = facts.target_tbytes_s
    worst = max(over.values(), default=0.0)
    return (f"max flow {gbps / 8000:.2f} TB/s >= target {target:g} TB/s "
            f"(headroom {(gbps / 8000 / target - 1) * 100:+.1f}%); leaf oversubscription "
            f"{worst:.2f}:1 <= {facts.max_oversubscription:g}:1")


def addresses_summary(plan: Plan, ctx: Context) -> str:
    per = Counter(a.network for a in plan.addresses)
    return f"{len(plan.addresses):,} addresses, " + ", ".join(
        f"{n} {k:,}" for n, k in sorted(per.items()))
