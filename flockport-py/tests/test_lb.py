"""Load-balancer operations: input errors, records, and (lab) dry-run plans."""

from __future__ import annotations

import asyncio

import pytest

import flockport


@pytest.fixture
def local(cluster: flockport.Cluster) -> flockport.Cluster:
    cluster.add_server("s1", subnet="10.0.4.0/24", local=True)
    return cluster


def test_bad_inputs_name_the_value(local: flockport.Cluster) -> None:
    with pytest.raises(flockport.InvalidInput, match="apache") as info:
        local.add_lb("apache", "s1", dry_run=True)  # type: ignore[arg-type]
    assert info.value.details["field"] == "load balancer type"
    with pytest.raises(flockport.InvalidInput, match="10.0.4.999"):
        local.add_lb("haproxy", "s1", backends=["web1:10.0.4.999:80"], dry_run=True)
    with pytest.raises(flockport.NotFound, match="nope"):
        local.add_lb("haproxy", "nope", dry_run=True)
    with pytest.raises(flockport.InvalidInput, match="colour"):
        local.set_lb("ha1", "colour", "red")  # type: ignore[arg-type]
    with pytest.raises(flockport.InvalidInput, match="999"):
        local.set_lb("ha1", "workers", "999")
    with pytest.raises(flockport.NotFound, match="ha9"):
        local.del_lb("ha9", dry_run=True)
    with pytest.raises(flockport.NotFound, match="ha9"):
        local.add_backends("ha9", ["web2:10.0.4.21:80"], dry_run=True)


def test_no_lbs(local: flockport.Cluster) -> None:
    assert local.lbs() == []
    assert asyncio.run(_lbs(local)) == []


async def _lbs(c: flockport.Cluster) -> list[flockport.LbInfo]:
    return await c.lbs_async()


def test_lab_add_lb_dry_run(lab: flockport.Cluster) -> None:
    applied = lab.add_lb(
        "haproxy", "s1", name="pyha1", backends=["c1:10.0.4.20:80", "c2:10.0.4.21:80"], dry_run=True
    )
    assert applied.executed is False
    rec = applied.record
    assert isinstance(rec, flockport.LbRecord)
    assert (rec.name, rec.kind, rec.server, rec.mode) == ("pyha1", "haproxy", "s1", "roundrobin")
    assert [str(b) for b in rec.backends] == ["c1:10.0.4.20:80", "c2:10.0.4.21:80"]
    b = rec.backends[0]
    assert (b.name, b.host, b.port, b.key()) == ("c1", "10.0.4.20", 80, "c1")
    assert rec.address.startswith("10.0.4.") and rec.published == []
    assert rec.to_dict()["kind"] == "haproxy"
    assert repr(rec).startswith("LbRecord(name='pyha1', kind='haproxy'")
    assert applied.plan.steps
    assert "pyha1" not in lab.state().lbs
    for info in lab.lbs():
        assert isinstance(info.record, flockport.LbRecord)
        assert all(isinstance(h, flockport.BackendHealth) for h in info.health)
