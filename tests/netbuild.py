"""Small builds with all four networks, for the storage, management, address and PKI tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import small_build_dict


def net_build_dict(sus: int = 2, nodes_per_su: int = 4, gpu_nodes: int | None = None,
                   max_sus: int | None = None, name: str = "netsmall",
                   target_tbytes_s: float = 0.1, fa: int = 2, cache: int = 2,
                   uplinks: int = 2) -> dict[str, Any]:
    """small_build_dict plus networks, a storage fabric, management and storage racks."""
    doc = small_build_dict(sus=sus, nodes_per_su=nodes_per_su, gpu_nodes=gpu_nodes, spines=2,
                           max_sus=max_sus, name=name)
    rows = doc["floorplan"]["halls"][0]["rows"]
    rows[0]["racks"] += [{"at": 3, "count": 2, "kind": "network"},
                         {"at": 5, "count": 1, "kind": "management"}]
    rows.append({"name": "ST1", "y": -1,
                 "racks": [{"at": 1, "kind": "management"},
                           {"at": 2, "count": 2, "kind": "storage"}]})
    doc["networks"] = {
        "inband": {"supernet": "10.16.0.0/16"},
        "oob": {"supernet": "10.17.0.0/16"},
        "storage": {"supernet": "10.18.0.0/16"},
        "ipoib": {"supernet": "10.32.0.0/12", "segment_prefix": 16},
    }
    doc["servers"] = [{"name": "ingest", "role": "ingest-gateway", "model": "x86-server",
                       "count": 2}]
    doc["storage"] = {
        "leaf_model": "sn4600", "spine_model": "dcs-7816r3", "leaves_per_su": 2,
        "uplinks_per_leaf": uplinks, "spines": 2, "max_oversubscription": 5,
        "target_tbytes_s": target_tbytes_s,
        "systems": [
            {"name": "fa", "model": "pure-fa-xl170", "count": fa, "export": "/checkpoints"},
            {"name": "cache", "model": "penguin-altus-cache", "count": cache,
             "cable_class": "eth200", "export": "/cache", "mount_point": "/mnt/cache"},
        ],
    }
    doc["management"] = {"pdus_per_rack": 1}
    doc["dns"] = {"domain": "lab.internal", "nameservers": ["ingest01"]}
    return doc
