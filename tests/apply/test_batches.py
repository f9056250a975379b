"""Rolling batches: canary, one SU per batch, service hosts last; sizes and percentages."""

from __future__ import annotations

import pytest

from rscctl.apply.batches import failed_beyond, make_batches
from rscctl.errors import UserError

HV = {**{f"dgx{i:04d}": {"rsc_su": 1 + (i - 1) // 4} for i in range(1, 13)},
      "bastion01": {}, "mgmt01": {}}
HOSTS = list(HV)


def test_canary_then_one_su_per_batch_then_service_hosts() -> None:
    b = make_batches(HOSTS, HV)
    assert [x.name for x in b] == ["canary dgx0001", "SU 001", "SU 002", "SU 003",
                                   "service hosts"]
    assert b[1].hosts == ("dgx0002", "dgx0003", "dgx0004")
    assert b[-1].hosts == ("bastion01", "mgmt01")
    assert sorted(h for x in b for h in x.hosts) == sorted(HOSTS)


def test_sizes_and_percentages() -> None:
    assert [len(x.hosts) for x in make_batches(HOSTS, HV, "5")] == [1, 5, 5, 3]
    assert [len(x.hosts) for x in make_batches(HOSTS, HV, "50%")] == [1, 6, 6, 1]
    assert [x.hosts for x in make_batches(["dgx0001"], HV)] == [("dgx0001",)]  # no canary
    for bad in ("0", "x", "150%", "-1"):
        with pytest.raises(UserError, match="--batch"):
            make_batches(HOSTS, HV, bad)


def test_max_fail() -> None:
    assert not failed_beyond(0, 20, 0)
    assert failed_beyond(1, 20, 0)
    assert not failed_beyond(2, 20, 10) and failed_beyond(3, 20, 10)


def test_no_canary() -> None:
    """--no-canary (a re-run on hosts known good): the SUs from the first host on."""
    b = make_batches(HOSTS, HV, canary=False)
    assert [x.name for x in b] == ["SU 001", "SU 002", "SU 003", "service hosts"]
    assert b[0].hosts == ("dgx0001", "dgx0002", "dgx0003", "dgx0004")
    assert [len(x.hosts) for x in make_batches(HOSTS, HV, "100%", canary=False)] == [14]
