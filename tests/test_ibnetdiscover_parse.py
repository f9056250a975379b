"""The ibnetdiscover parser on captured output (ibnetdiscover 1.x on ibsim, lines cut)."""

from __future__ import annotations

import pytest

from rscctl.verify.ibnetdiscover import parse_ibnetdiscover

CAPTURED = """\
#
# Topology file: generated on Fri Nov 27 18:06:02 2026
#
# Initiated from node 022fcf3f1106ce00 port 022fcf3f1106ce00

vendid=0x0
devid=0x0
sysimgguid=0x2c72011d584f350
switchguid=0x2c72011d584f350(2c72011d584f350)
Switch\t40 "S-02c72011d584f350"\t\t# "leaf-s002-r8" base port 0 lid 0 lmc 0
[1]\t"H-02efcdc0a9001530"[1](2efcdc0a9001531) \t\t# "dgx0005 mlx5_7" lid 0 4xHDR
[4]\t"H-0205866a2e3d3a90"[1](205866a2e3d3a91) \t\t# "dgx0008 mlx5_7" lid 0 4xHDR
[5]\t"S-02229e9ba1b80500"[1]\t\t# "MF0;spine02:MCS8500/S01/U1" lid 0 4xHDR

vendid=0x0
devid=0x0
sysimgguid=0x2229e9ba1b80500
switchguid=0x2229e9ba1b80500(2229e9ba1b80500)
Switch\t40 "S-02229e9ba1b80500"\t\t# "MF0;spine02:MCS8500/S01/U1" base port 0 lid 0 lmc 0
[1]\t"S-02c72011d584f350"[5]\t\t# "leaf-s002-r8" lid 0 4xHDR

vendid=0x0
devid=0x0
sysimgguid=0x205866a2e3d3a90
caguid=0x205866a2e3d3a90
Ca\t1 "H-0205866a2e3d3a90"\t\t# "dgx0008 mlx5_7"
[1](205866a2e3d3a91) \t"S-02c72011d584f350"[4]\t\t# lid 0 lmc 0 "leaf-s002-r8" lid 0 4xHDR
"""


def test_nodes_links_and_guids() -> None:
    topo = parse_ibnetdiscover(CAPTURED)
    leaf = topo.nodes["S-02c72011d584f350"]
    assert (leaf.kind, leaf.desc, leaf.ports, leaf.guid) == ("Switch", "leaf-s002-r8", 40,
                                                              0x2c72011d584f350)
    ca = topo.nodes["H-0205866a2e3d3a90"]
    assert (ca.kind, ca.desc, ca.port_guids) == ("Ca", "dgx0008 mlx5_7",
                                                 {1: 0x205866a2e3d3a91})
    # Links by description; a peer not listed itself (dgx0005) keeps its node id.
    assert topo.links() == {
        (("H-02efcdc0a9001530", 1), ("leaf-s002-r8", 1)),
        (("dgx0008 mlx5_7", 1), ("leaf-s002-r8", 4)),
        (("MF0;spine02:MCS8500/S01/U1", 1), ("leaf-s002-r8", 5)),
    }
    assert topo.rates() == {"4xHDR"}


def test_a_mangled_port_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot read port line"):
        parse_ibnetdiscover('Switch\t40 "S-1"\t\t# "x"\n[1\t"S-2"[1]\n')
