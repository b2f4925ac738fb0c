"""Against the lab (tests/lab/lab up): three servers over SSH, c1..c5 running."""

from __future__ import annotations

import asyncio

import pytest

import flockport

pytestmark = pytest.mark.lab

APPS = {
    "c1": ("s1", "10.0.4.20"),
    "c2": ("s1", "10.0.4.21"),
    "c3": ("s2", "10.0.5.20"),
    "c4": ("s2", "10.0.5.21"),
    "c5": ("s3", "10.0.7.20"),
}


def test_lab_list_servers(lab: flockport.Cluster) -> None:
    statuses = {s.name: s for s in lab.list_servers()}
    assert {"s1", "s2", "s3"} <= set(statuses)
    for name in ("s1", "s2", "s3"):
        s = statuses[name]
        assert s.reachable, s.error
        assert s.lxc_version and s.containers >= 1


def test_lab_containers(lab: flockport.Cluster) -> None:
    found = {c.name: c for c in lab.containers()}
    for name, (server, addr) in APPS.items():
        c = found[name]
        assert c.server == server and c.state == "running", c
        assert c.address == addr, c


def test_lab_async_and_locate(lab: flockport.Cluster) -> None:
    async def main() -> None:
        per_server = await asyncio.gather(*(lab.containers_async(s) for s in ("s1", "s2", "s3")))
        names = sorted(c.name for cs in per_server for c in cs)
        assert set(APPS) <= set(names)
        server, info = await lab.locate_async("c5")
        assert server.name == "s3" and info.address == "10.0.7.20"

    asyncio.run(main())


def test_lab_exec_and_dry_run(lab: flockport.Cluster) -> None:
    out = lab.exec("c1", ["hostname"])
    assert out.status == 0 and out.stdout_str().strip() == "c1"
    applied = lab.set_running("c1", True, dry_run=True)
    assert applied.executed is False and applied.plan.steps == []
    info = applied.record
    assert isinstance(info, flockport.ContainerInfo) and info.state == "running"
