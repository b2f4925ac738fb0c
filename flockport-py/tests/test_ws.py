"""Webservers and floating IPs from Python: input errors, and (lab) a webserver
publishing an app end to end, a floating IP's plan, the listings."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

import flockport


@pytest.fixture
def local(cluster: flockport.Cluster) -> flockport.Cluster:
    cluster.add_server("s1", subnet="10.0.4.0/24", local=True)
    return cluster


def test_bad_inputs_name_the_value(local: flockport.Cluster, tmp_path: Path) -> None:
    with pytest.raises(flockport.NotFound, match="nope"):
        local.pub_app("nope", "x.org", "10.0.4.20:80", dry_run=True)
    with pytest.raises(flockport.InvalidInput, match="a;b.org"):
        local.pub_app("nope", "a;b.org", "10.0.4.20:80")
    with pytest.raises(flockport.InvalidInput, match="10.0.4.300"):
        local.add_hosts("x.org", "10.0.4.300", file=tmp_path / "hosts")
    with pytest.raises(flockport.NotFound, match="ws9"):
        local.del_ws("ws9", dry_run=True)
    with pytest.raises(flockport.InvalidInput, match="s1"):
        local.add_vip("s1", "s1", "192.168.122.100", dry_run=True)
    assert not (tmp_path / "hosts").exists()
    assert local.webservers() == [] and local.vips() == []


def test_add_hosts_is_idempotent_and_removable(local: flockport.Cluster, tmp_path: Path) -> None:
    f = tmp_path / "hosts"
    f.write_text("127.0.0.1 localhost\n")
    first = local.add_hosts("myminio.org", "10.0.4.100", file=f)
    assert isinstance(first, flockport.HostsChange)
    assert (first.changed, first.executed, first.ip) == (True, True, "10.0.4.100")
    assert local.add_hosts("myminio.org", "10.0.4.100", file=f).changed is False
    local.del_hosts("myminio.org", file=f)
    assert f.read_text() == "127.0.0.1 localhost\n"


def _get(url: str, host: str) -> str:
    req = urllib.request.Request(url, headers={"Host": host})
    with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 (a lab address)
        body: bytes = r.read()
    return body.decode().strip()


@pytest.mark.lab
def test_lab_webserver_publishes_an_app(lab_copy: flockport.Cluster) -> None:
    c = lab_copy
    name = f"pyws{os.getpid() % 10000}"
    applied = c.add_ws("s2", name=name)
    try:
        rec = applied.record
        assert isinstance(rec, flockport.WsRecord)
        assert (rec.name, rec.server, rec.apps) == (name, "s2", {})
        after = c.pub_app(name, "myminio.org", "10.0.5.20:9000").record
        app = after.apps["myminio.org"]
        assert (app.upstream.host, app.upstream.port, app.tls) == ("10.0.5.20", 9000, None)
        assert _get(f"http://{rec.address}/", "myminio.org") == "c3"
        by_name = c.pub_app(name, "mywordpress.org", "c4.app:80", self_signed=True).record
        assert by_name.apps["mywordpress.org"].upstream.container == "c4"
        tls = by_name.apps["mywordpress.org"].tls
        assert tls is not None and tls.source == "self-signed"
        [info] = [w for w in c.webservers() if w.record.name == name]
        assert {h.url: h.health for h in info.health} == {"myminio.org": "UP", "mywordpress.org": "UP"}
        c.del_app(name, "myminio.org")
        assert list(c.state().ws[name].apps) == ["mywordpress.org"]
    finally:
        c.del_ws(name)
    assert name not in c.state().ws


@pytest.mark.lab
def test_lab_floating_ip_plan_and_listing(lab: flockport.Cluster) -> None:
    applied = lab.add_vip("s1", "s2", "192.168.122.119", name="pyvip", advert_int=0.5, track=[80], dry_run=True)
    vip = applied.record
    assert isinstance(vip, flockport.Vip)
    assert (vip.name, vip.ip, vip.master.server, vip.backup.server, vip.track) == (
        "pyvip",
        "192.168.122.119",
        "s1",
        "s2",
        [80],
    )
    assert applied.executed is False and "auth_pass" not in vip.to_dict()
    assert all(v.vip.name != "pyvip" for v in lab.vips())
