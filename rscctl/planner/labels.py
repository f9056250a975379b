"""The cable label scheme (in the spirit of TIA-606), in one place.

An end is written `RACK-U<ru> DEVICE:PORT`, where RACK is `hall-row-position` (H1-A01-07), so an
end reads hall-row-rack-U-device-port. The label on each end of a cable is

    <cable id> <this end> > <far end>

e.g. `C1-S001-N01-R1 H1-A01-01-U01 dgx0001:mlx5_0 > H1-A01-06-U01 leaf-s001-r1:1`: the
technician reads the ID, where the end in hand belongs, and where the other end goes.
"""

from __future__ import annotations


def end_text(rack: str, ru: int, device: str, port: str) -> str:
    return f"{rack}-U{ru:02d} {device}:{port}"


def label(cable_id: str, here: str, there: str) -> str:
    return f"{cable_id} {here} > {there}"
