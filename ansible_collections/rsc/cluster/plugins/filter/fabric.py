"""rsc.cluster.ipoib_units: the systemd-networkd unit of each IPoIB interface of a host."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"(\d+)$")


def ipoib_units(interfaces, build, unit_dir, netdev_of=None, network="ipoib"):
    """[{dest, content}] for each interface of `network`: Name= is the netdev of the HCA
    (ib<N> for mlx5_<N> unless `netdev_of` maps it), Address= the plan's."""
    netdev_of = netdev_of or {}
    out = []
    for iface in interfaces:
        if iface.get("network") != network:
            continue
        name = iface["name"]
        m = _DIGITS.search(name)
        netdev = netdev_of.get(name) or f"ib{m.group(1) if m else name}"
        content = (
            "# Managed by rscctl (role fabric); do not edit.\n"
            f"# IPoIB on {name} (build {build}, network {network}).\n"
            "[Match]\n"
            f"Name={netdev}\n\n"
            "[Network]\n"
            f"Address={iface['address']}/{iface['prefix_len']}\n"
        )
        out.append({"dest": f"{unit_dir}/60-rsc-{name}.network", "content": content})
    return out


class FilterModule:
    def filters(self):
        return {"ipoib_units": ipoib_units}
