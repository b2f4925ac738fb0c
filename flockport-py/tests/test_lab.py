"""Against the lab (tests/lab/lab up): three servers over SSH, c1..c5 running."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

import flockport

from conftest import LAB_INVENTORY, REPO

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
    items, unread = lab.containers_listing()
    assert unread == [] and {c.name for c in items} >= set(APPS)


def test_lab_containers_listing_names_a_server_it_could_not_read(
    lab: flockport.Cluster, tmp_path: Path
) -> None:
    text = LAB_INVENTORY.read_text()
    inv = tmp_path / "flockport.toml"
    # s9: a loopback port nobody listens on (refused at once; no traffic leaves the machine).
    inv.write_text(text + '\n[[server]]\nname = "s9"\ntransport = "ssh"\nhost = "127.0.0.1"\nport = 1\nsubnet = "10.0.9.0/24"\n')
    c = flockport.Cluster.open(inv)
    items, unread = c.containers_listing()
    assert [s for s, _ in unread] == ["s9"], unread
    assert {i.name for i in items} >= set(APPS)
    with pytest.raises(flockport.Unreachable, match="s9"):
        c.containers()


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


def test_lab_container_created_listed_and_deleted(lab: flockport.Cluster) -> None:
    """A real container on s3 over SSH: created from the base image, listed, run in, deleted."""
    name = f"py-ct-{os.getpid()}"
    try:
        applied = lab.add_container("s3", name)
        rec = applied.record
        assert applied.executed and isinstance(rec, flockport.ContainerRecord)
        assert rec.server == "s3" and rec.address.startswith("10.0.7."), rec
        listed = {c.name: c for c in lab.containers("s3")}
        assert listed[name].state == "running" and listed[name].address == rec.address, listed.get(name)
        assert lab.exec(name, ["hostname"]).stdout_str().strip() == name
        assert name in lab.state().containers
    finally:
        if name in lab.state().containers:
            lab.del_container(name)
    assert name not in {c.name for c in lab.containers("s3")}
    assert name not in lab.state().containers


def test_lab_lb_walkthrough_example(lab: flockport.Cluster) -> None:
    """examples/lb_walkthrough.py: addlb, addbackends, listlbs, setlb, delbackends, pub, dellb for real."""
    name = f"ha-py-{os.getpid()}"
    script = REPO / "examples" / "lb_walkthrough.py"
    out = subprocess.run(
        [sys.executable, str(script), lab.inventory_path(), name], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for line in ("30 requests (roundrobin)", "10 requests (source)", "after delbackends web2", f"dellb {name}: removed"):
        assert line in out.stdout, out.stdout
    assert out.stdout.rstrip().endswith("walk-through passed")
    assert name not in lab.state().lbs
    assert name not in {c.name for c in lab.containers("s1")}


def test_lab_bad_input_raises_and_changes_nothing(lab: flockport.Cluster) -> None:
    """Real (not dry-run) calls with bad input against the lab: the matching exception, naming the value; no change."""
    state = lab.state()
    on_s1 = sorted(c.name for c in lab.containers("s1"))
    cases: list[tuple[type[flockport.FlockportError], str, Callable[[], object]]] = [
        (flockport.InvalidInput, "10.0.4.999", lambda: lab.add_lb("haproxy", "s1", backends=["w1:10.0.4.999:80"])),
        (flockport.InvalidInput, "apache", lambda: lab.add_lb("apache", "s1")),  # type: ignore[arg-type]
        (flockport.InvalidInput, "bad;name", lambda: lab.add_container("s1", "bad;name")),
        (flockport.InvalidInput, "bad;name", lambda: lab.add_lb("haproxy", "s1", name="bad;name")),
        (flockport.NotFound, "s9", lambda: lab.add_lb("haproxy", "s9")),
        (flockport.NotFound, "nosuch-lb", lambda: lab.add_backends("nosuch-lb", ["w1:10.0.4.20:80"])),
        (flockport.AlreadyExists, "c1", lambda: lab.add_container("s1", "c1")),
    ]
    for cls, value, call in cases:
        with pytest.raises(cls) as info:
            call()
        assert value in str(info.value), (value, str(info.value))
    assert lab.state() == state
    assert sorted(c.name for c in lab.containers("s1")) == on_s1


def test_lab_status(lab_copy: flockport.Cluster) -> None:
    """`status()`: the record `flockport status --json` prints, with a real container of its own."""
    c = lab_copy
    st = c.status()
    assert [s.name for s in st.servers] == ["s1", "s2", "s3"] and all(s.reachable for s in st.servers)
    assert {(d.kind, d.name) for d in st.drift} >= {("unmanaged", n) for n in APPS}
    assert st.absent == [] and st.healthy
    rec = c.add_container("s3", "pystatus1")
    try:
        st = c.status()
        item = next(i for i in st.items if i.family == "container" and i.name == "pystatus1")
        assert (item.server, item.address, item.health, item.why) == ("s3", str(rec.record.address), "up", None)
    finally:
        c.del_container("pystatus1")
    assert not [i for i in c.status().items if i.name == "pystatus1"]


def test_lab_jobs(lab_copy: flockport.Cluster) -> None:
    """The job verbs from Python: `add_job`, `jobs`, `scale_job`, `del_job` on real LXC."""
    c = lab_copy
    with pytest.raises(flockport.InvalidInput) as info:
        c.add_job("c5", 1, strategy="spread")
    assert "spread" in str(info.value)
    a = c.add_job("c5", 1, port=80)
    try:
        assert a.executed and [i.name for i in a.record.instances] == ["c5-1"]
        (j,) = c.jobs()
        assert (j.base, j.count, j.running, j.lost) == ("c5", 1, 1, 0)
        (inst,) = j.instances
        assert (inst.state, inst.health, inst.instance.version) == ("running", "up", 1)
        a = c.scale_job("c5", "+1")
        assert len(a.record.instances) == 2
        assert c.jobs()[0].running == 2
    finally:
        c.del_job("c5")
    assert c.jobs() == []
    assert not [x for x in c.containers() if x.name.startswith("c5-")]
