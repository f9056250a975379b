"""The address plan as files: a hosts file, DNS zones and Ansible-ready inventory.

All rendered from the plan only (plan.addresses and plan.facts), so a cluster-wide file never
depends on facts gathered on hosts. Text files come from templates/network/ (the same templates
an Ansible role can push); the inventory is YAML data.

Outputs (under out/BUILD/):
- hosts: `hosts` - every address with its names (rscctl.export.names).
- dns: `dns/db.DOMAIN` (forward zone), `dns/db.A.B` (one reverse zone per /16 or /24 of each
  supernet, only those with records), `dns/named.conf.zones` (BIND include).
- ansible: `ansible/inventory/hosts.yml` - a YAML inventory: groups by role (gpu_node,
  storage_system, ...) and by SU (su_001, ...), each host with `ansible_host` (its primary
  address); the networks, DNS and NFS-over-TLS settings in `all.vars`; and
  `ansible/inventory/host_vars/HOST.yml` with the rest of each host's variables:
  `rsc_interfaces` (name, network, address, prefix_len, gateway), NFS clients also
  `rsc_nfs_mounts` (and the group `nfs_client`, playbooks/nfs-tls.yml). Host variables live in
  host_vars because Ansible 2.19 tags and deep-copies every value of an inventory file: phase
  1's 3,000 hosts with their interfaces inline took ~50 s to load, ~4 s split this way, and
  host_vars are read only for the hosts a run targets.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from rscctl.export import escape
from rscctl.export.names import HostEntry, host_entries, primary_addresses
from rscctl.export.nfs import mounts, nfs_settings
from rscctl.names import role_group, su_group
from rscctl.outputs import Files
from rscctl.planner.facts import DnsFacts, to_plain
from rscctl.planner.model import Plan
from rscctl.templating import environment

GATEWAY_NETWORKS = ("inband", "oob", "storage")


def _dns(plan: Plan) -> DnsFacts:
    """The dns facts, each value checked against the zone grammar."""
    d = plan.facts.dns
    escape.dns_name(d.domain, "dns.domain")
    escape.bounded_int(d.serial, "dns.serial", 0, 2**32 - 1)
    escape.bounded_int(d.ttl, "dns.ttl", 0, 2**31 - 1)
    for ns in d.nameservers:
        escape.host_label(ns, "dns.nameservers")
    return d


NAME_FIELD = "host name (naming patterns, servers[].name, storage systems[].name)"


def _checked(e: HostEntry) -> HostEntry:
    """An entry whose every name is one host label: on an /etc/hosts line or as a zone owner
    it cannot add an alias or a record."""
    for n in e.names:
        escape.host_label(n, NAME_FIELD)
    return e


def _fqdn_pair(name: str, domain: str) -> str:
    return f"{name}.{domain} {name}"


def _render(template: str, **ctx: Any) -> bytes:
    env = environment()
    if "fqdn_pair" not in env.filters:
        env.filters["fqdn_pair"] = _fqdn_pair
    return env.get_template(template).render(**ctx).encode("utf-8")


def export_hosts(plan: Plan) -> Files:
    entries = [_checked(e) for e in host_entries(plan)]
    return {"hosts": _render("network/hosts.j2", build=escape.plain_text(plan.build, "name"),
                             entries=entries, domain=_dns(plan).domain)}


def _reverse_zone(addr: IPv4Address, supernet_prefix: int) -> tuple[str, str]:
    """(zone origin, owner name in it) for a PTR: /16 zones for wide supernets, else /24."""
    o = str(addr).split(".")
    if supernet_prefix <= 16:
        return f"{o[1]}.{o[0]}.in-addr.arpa", f"{o[3]}.{o[2]}"
    return f"{o[2]}.{o[1]}.{o[0]}.in-addr.arpa", o[3]


def export_dns(plan: Plan) -> Files:
    dns = _dns(plan)
    domain = dns.domain
    prefixes = {name: IPv4Network(v.supernet).prefixlen
                for name, v in plan.facts.networks.items()}
    forward: list[tuple[str, str, str]] = []
    reverse: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for e in map(_checked, host_entries(plan)):
        for n in e.names:
            forward.append((n, "A", e.address))
        origin, owner = _reverse_zone(IPv4Address(e.address), prefixes.get(e.network, 24))
        reverse[origin].append((owner, "PTR", f"{e.names[0]}.{domain}."))
    nameservers = list(dns.nameservers) or ["ns"]
    build = escape.bind_string(plan.build, "name")
    common = {"build": build, "domain": domain, "ttl": dns.ttl, "serial": dns.serial,
              "primary_ns": nameservers[0], "nameservers": nameservers}
    files: Files = {f"dns/db.{domain}": _render("network/zone.j2", origin=domain,
                                                  records=forward, **common)}
    zones = [{"origin": domain, "file": f"db.{domain}"}]
    for origin in sorted(reverse, key=_zone_key):
        name = "db." + ".".join(reversed(origin.removesuffix(".in-addr.arpa").split(".")))
        files[f"dns/{name}"] = _render("network/zone.j2", origin=origin,
                                       records=reverse[origin], **common)
        zones.append({"origin": origin, "file": name})
    files["dns/named.conf.zones"] = _render("network/named.conf.j2", build=build,
                                            zones=zones, zone_dir=f"/etc/bind/{build}")
    return files


def _zone_key(origin: str) -> tuple[int, ...]:
    return tuple(int(x) for x in reversed(origin.removesuffix(".in-addr.arpa").split(".")))


def _gateway(e: HostEntry) -> str | None:
    """The segment's .1 (the management core, storage leaf or spine) for routed networks."""
    if e.network not in GATEWAY_NETWORKS:
        return None
    net = IPv4Network(f"{e.address}/{e.prefix_len}", strict=False)
    gw = str(net.network_address + 1)
    return None if gw == e.address else gw


def inventory(plan: Plan) -> dict[str, Any]:
    """The inventory as data (what hosts.yml holds)."""
    primary = primary_addresses(plan)
    ifaces: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in host_entries(plan):
        item: dict[str, Any] = {"name": e.interface, "network": e.network,
                                "address": e.address, "prefix_len": e.prefix_len}
        gw = _gateway(e)
        if gw:
            item["gateway"] = gw
        ifaces[e.device].append(item)
    nfs = mounts(plan)
    groups: dict[str, dict[str, Any]] = {}
    sus: dict[str, dict[str, Any]] = {}
    clients: dict[str, None] = {}
    for d in plan.devices:
        if d.name not in primary:
            continue
        host: dict[str, Any] = {
            "ansible_host": primary[d.name].address,
            "rsc_role": d.role,
            "rsc_model": d.model,
            "rsc_rack": d.rack,
            "rsc_interfaces": ifaces[d.name],
        }
        if d.su is not None:
            host["rsc_su"] = d.su
        if d.name in nfs:
            host["rsc_nfs_mounts"] = [{"what": m.what, "where": m.where, "export": m.export,
                                       "options": m.options, "unit": m.unit}
                                      for m in nfs[d.name]]
            clients[d.name] = None
        groups.setdefault(role_group(d.role), {"hosts": {}})["hosts"][d.name] = host
        if d.role == "gpu-node" and d.su is not None:
            sus.setdefault(su_group(d.su), {"hosts": {}})["hosts"][d.name] = None
    dns = _dns(plan)
    return {"all": {
        "vars": {
            "rsc_build": plan.build,
            "rsc_domain": dns.domain,
            "rsc_nameservers": list(dns.nameservers),
            "rsc_networks": to_plain(plan.facts.networks),
            "rsc_nfs_tls": to_plain(tls) if (tls := nfs_settings(plan)) else {},
            # the in-enclave package sources (build `mirrors:`), only when declared
            **({"rsc_mirrors": dict(plan.facts.mirrors)} if plan.facts.mirrors else {}),
        },
        "children": {**dict(sorted(groups.items())), **dict(sorted(sus.items())),
                     **({"nfs_client": {"hosts": clients}} if clients else {})},
    }}


_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "none"}


def _key(name: str) -> str:
    """A mapping key, quoted unless YAML reads it back as the same plain string."""
    plain = _PLAIN.match(name) and name.lower() not in _YAML_WORDS
    return name if plain else json.dumps(name)


def _flow(value: Any) -> str:
    """A value as a one-line flow mapping or scalar: JSON is YAML, and json is fast."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


INVENTORY_HOST_KEYS = ("ansible_host",)


def split_host_vars(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The inventory with only INVENTORY_HOST_KEYS inline, and every host's other variables."""
    host_vars: dict[str, dict[str, Any]] = {}
    children: dict[str, Any] = {}
    for group, body in data["all"]["children"].items():
        hosts: dict[str, Any] = {}
        for host, hv in body["hosts"].items():
            if hv is None:
                hosts[host] = None
                continue
            hosts[host] = {k: hv[k] for k in INVENTORY_HOST_KEYS if k in hv}
            host_vars[host] = {k: v for k, v in hv.items() if k not in INVENTORY_HOST_KEYS}
        children[group] = {"hosts": hosts}
    return {"all": {"vars": data["all"]["vars"], "children": children}}, host_vars


def generate_inventory(data: dict[str, Any]) -> Iterator[str]:
    """YAML lines of the inventory: the structure in block style, one line per host (its
    variables as a flow mapping), so 2,000 hosts read and diff line by line."""
    top = data["all"]
    yield "all:"
    yield "  vars:"
    for k, v in top["vars"].items():
        yield f"    {_key(k)}: {_flow(v)}"
    yield "  children:"
    for group, body in top["children"].items():
        yield f"    {_key(group)}:"
        yield "      hosts:"
        for host, hv in body["hosts"].items():
            yield f"        {_key(host)}:" + (f" {_flow(hv)}" if hv is not None else "")


def export_ansible(plan: Plan) -> Files:
    build = escape.plain_text(plan.build, "name")
    head = (f"# Ansible inventory of build {build}, generated by rscctl from the plan "
            "(rscctl export BUILD --only ansible); do not edit.\n")
    light, host_vars = split_host_vars(inventory(plan))
    body = "\n".join(generate_inventory(light))
    files = {"ansible/inventory/hosts.yml": (head + body + "\n").encode("utf-8")}
    for host, hv in host_vars.items():
        escape.host_label(host, NAME_FIELD)
        lines = [f"{_key(k)}: {_flow(v)}" for k, v in hv.items()]
        files[f"ansible/inventory/host_vars/{host}.yml"] = ("\n".join(lines) + "\n").encode()
    return files
