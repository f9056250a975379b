"""The planner's stages are pure: each a function of the declaration and earlier results,
returning only what it adds; the plan is their concatenation, in stage order."""

from __future__ import annotations

import dataclasses

import pytest

from rscctl.declare import Build, load_build
from rscctl.planner import build_plan, plan_stages
from rscctl.planner.builder import ServersResult
from rscctl.planner.management import plan_management
from rscctl.planner.storage_fabric import plan_storage


@pytest.fixture(scope="module")
def lab_build() -> Build:
    return load_build("lab")


def test_plan_is_the_stages_in_order(lab_build: Build) -> None:
    stages = plan_stages(lab_build)
    plan = build_plan(lab_build, check=False)
    results = stages.results()
    assert plan.devices == tuple(d for r in results for d in r.devices)
    assert plan.cables == tuple(c for r in results for c in r.cables)
    assert plan.addresses == tuple(a for r in results for a in r.addresses)
    assert [type(r).__name__ for r in results] == [
        "ComputeResult", "ServersResult", "StorageResult", "ManagementResult",
        "AddressesResult", "PolicyResult"]


def test_each_stage_adds_only_its_own(lab_build: Build) -> None:
    s = plan_stages(lab_build)
    roles = {name: {d.role for d in getattr(s, name).devices}
             for name in ("compute", "servers", "storage", "management")}
    assert roles["compute"] == {"gpu-node", "compute-leaf", "compute-spine"}
    assert roles["storage"] == {"storage-leaf", "storage-spine", "storage-system"}
    assert roles["management"] == {"pdu", "mgmt-core", "inband-switch", "oob-switch"}
    assert roles["servers"] == {g.role for g in lab_build.servers}
    assert {c.fabric for c in s.compute.cables} == {"compute"}
    assert {c.fabric for c in s.storage.cables} == {"storage"}
    assert not s.addresses.devices and not s.addresses.cables
    assert {a.network for a in s.addresses.addresses} == {"ipoib"}
    assert set(s.addresses.networks) == set(lab_build.networks)
    assert s.addresses.count == sum(len(r.addresses) for r in s.results())


def test_stages_are_deterministic_and_frozen(lab_build: Build) -> None:
    a, b = plan_stages(lab_build), plan_stages(lab_build)
    assert a == b
    again = plan_storage(lab_build, a.racks, a.compute, a.servers)
    assert again == a.storage
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.compute.devices = ()  # type: ignore[misc]


def test_a_stage_takes_rack_space_from_its_inputs(lab_build: Build) -> None:
    """Management places its cores in the management racks after the servers: given the
    servers' devices without the space they took, the cores land on the servers' units."""
    s = plan_stages(lab_build)
    servers_ru = {(d.rack, d.ru) for d in s.servers.devices}
    cores = {(d.rack, d.ru) for d in s.management.devices if d.role == "mgmt-core"}
    assert servers_ru and not servers_ru & cores
    forgetful = ServersResult(devices=s.servers.devices)  # rack_use dropped
    blind = plan_management(lab_build, s.racks, s.compute, forgetful, s.storage)
    blind_cores = {(d.rack, d.ru) for d in blind.devices if d.role == "mgmt-core"}
    assert servers_ru & blind_cores
