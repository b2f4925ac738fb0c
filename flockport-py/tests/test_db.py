"""Databases from Python: input errors that name the value and change
nothing, and (lab) a PostgreSQL instance made, listed, its password read on
request, a second database added and dropped, the instance removed."""

from __future__ import annotations

import os

import pytest

import flockport


@pytest.fixture
def local(cluster: flockport.Cluster) -> flockport.Cluster:
    cluster.add_server("s1", subnet="10.0.4.0/24", local=True)
    return cluster


def test_bad_inputs_name_the_value(local: flockport.Cluster) -> None:
    with pytest.raises(flockport.InvalidInput, match="wo'rd"):
        local.add_db("mysql", "s1", "wo'rd", "d", dry_run=True)
    with pytest.raises(flockport.InvalidInput, match="10.0.4.0/33"):
        local.add_db("postgresql", "s1", "u", "d", allowed=["10.0.4.0/33"], dry_run=True)
    with pytest.raises(flockport.InvalidInput, match="U\\+000A"):
        local.add_db("mysql", "s1", "u", "d", password="a\nb", dry_run=True)
    with pytest.raises(flockport.InvalidInput, match="mongodb"):
        local.add_db("mongodb", "s1", "u", "d")  # type: ignore[arg-type]
    with pytest.raises(flockport.NotFound, match="nope"):
        local.del_db("nope")
    with pytest.raises(flockport.NotFound, match="nope"):
        local.db_password("nope", "d")
    assert local.dbs() == [] and local.state().dbs == {}


def test_endpoint_bad_inputs_name_the_value(local: flockport.Cluster) -> None:
    with pytest.raises(flockport.InvalidInput, match="10.0.5.10"):
        local.add_ep("s1", "10.0.5.10", dry_run=True)
    with pytest.raises(flockport.NotFound, match="nope"):
        local.del_ep("nope", force=True)
    assert local.endpoints().endpoints == [] and local.state().eps == {}


def test_service_catalog_bad_inputs_name_the_value(local: flockport.Cluster) -> None:
    with pytest.raises(flockport.InvalidInput, match="addep"):
        local.pub_service("minio", "10.0.7.20:9000")
    with pytest.raises(flockport.InvalidInput, match="mi.nio"):
        local.pub_service("mi.nio", "10.0.7.20:9000", dry_run=True)
    with pytest.raises(flockport.InvalidInput, match="10.0.7.20:0"):
        local.pub_service("minio", "10.0.7.20:0")
    with pytest.raises(flockport.InvalidInput, match="udp"):
        local.pub_check("c", "udp", "10.0.7.20:9000")
    with pytest.raises(flockport.InvalidInput, match="ftp://x/"):
        local.pub_check("c", "http", "ftp://x/", interval=2)
    with pytest.raises(flockport.NotFound, match="nope"):
        local.unpub_service("nope", address="10.0.7.20:9000")
    with pytest.raises(flockport.NotFound, match="nope"):
        local.unpub_check("nope")
    with pytest.raises(flockport.InvalidInput, match="addep"):
        local.services()
    assert local.state().adhoc == {}


def test_container_services_bad_inputs_name_the_value(local: flockport.Cluster) -> None:
    with pytest.raises(flockport.InvalidInput, match="word.press"):
        local.add_service("c1", "word.press", 80)
    with pytest.raises(flockport.InvalidInput, match="70000"):
        local.add_service("c1", "wordpress", 70000, dry_run=True)
    with pytest.raises(flockport.NotFound, match="nosuchcontainer"):
        local.add_service("nosuchcontainer", "wordpress", 80)
    with pytest.raises(flockport.InvalidInput, match="udp"):
        local.add_check("c1", "mycheck", "udp", "80")
    with pytest.raises(flockport.InvalidInput, match="99999"):
        local.add_check("c1", "mycheck", "tcp", "99999", interval=2)
    with pytest.raises(flockport.NotFound, match="c1"):
        local.list_service("c1")
    assert local.state().container_services == {}


@pytest.mark.lab
def test_lab_postgresql_instance(lab_copy: flockport.Cluster) -> None:
    c = lab_copy
    name = f"pydb{os.getpid() % 10000}"
    secret = "python-given-password-0123456789"
    added = c.add_db("postgresql", "s3", "app", "app", name=name, password=secret)
    try:
        rec = added.record
        assert isinstance(rec, flockport.DbAdded)
        assert (rec.instance.name, rec.instance.engine, rec.instance.port) == (name, "postgresql", 5432)
        assert rec.generated_password is False and secret not in str(rec.to_dict())
        assert c.db_password(name, "app") == secret
        second = c.add_db("postgresql", "s3", "u2", "d2", name=name, allowed=["10.0.4.0/24"]).record
        assert second.generated_password and len(c.db_password(name, "d2")) >= 24
        [info] = [d for d in c.dbs() if d.instance.name == name]
        assert info.answers and info.version is not None and info.version.startswith("15")
        assert info.instance.databases["d2"].allowed == ["10.0.4.0/24"]
        assert c.add_db("postgresql", "s3", "app", "app", name=name).record.changes == []
        c.del_db(name, database="d2")
        assert list(c.state().dbs[name].databases) == ["app"]
    finally:
        c.del_db(name)
    assert name not in c.state().dbs
