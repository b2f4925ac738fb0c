"""Core records become typed Python objects with useful reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

import flockport


def test_server_config_fields(cluster: flockport.Cluster, tmp_path: Path) -> None:
    key = tmp_path / "id"
    key.write_text("k")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("KexAlgorithms curve25519-sha256\n")
    s = cluster.add_server(
        "s1",
        subnet="10.0.4.0/24",
        host="192.0.2.7",
        user="admin",
        port=2222,
        identity=key,
        ssh_config=ssh_config,
    )
    assert isinstance(s, flockport.ServerConfig)
    assert (s.name, s.host, s.port, s.user) == ("s1", "192.0.2.7", 2222, "admin")
    assert s.identity == str(key) and s.known_hosts is None
    assert s.ssh_config == str(ssh_config)
    assert (s.subnet, s.gateway, s.bridge) == ("10.0.4.0/24", "10.0.4.1", "lxcbr0")
    assert s.transport == "ssh" and s.lxcpath == "/var/lib/lxc"
    assert s.image.template == "debian" and s.image.args == ["-r", "bookworm"]
    assert s == cluster.server("s1") and s != cluster.add_server(
        "s2", subnet="10.0.5.0/24", local=True
    )
    d = s.to_dict()
    assert d["name"] == "s1" and d["subnet"] == "10.0.4.0/24" and d["port"] == 2222
    r = repr(s)
    assert r.startswith("ServerConfig(name='s1', transport='ssh', host='192.0.2.7'"), r
    assert [x.name for x in cluster.servers()] == ["s1", "s2"]
    assert "flockport.toml" in cluster.inventory_path()
    assert repr(cluster).startswith("Cluster(inventory=") and "['s1', 's2']" in repr(cluster)


def test_inventory_is_shared_with_other_handles(inventory: Path) -> None:
    a = flockport.Cluster.open(inventory)
    a.add_server("s1", subnet="10.0.4.0/24", local=True)
    b = flockport.Cluster.open_with(inventory)
    assert [s.name for s in b.servers()] == ["s1"]
    b.del_server("s1")
    assert b.servers() == []
    assert flockport.Cluster.open(inventory).servers() == []


def test_reopen_reads_the_inventory_again(inventory: Path, tmp_path: Path) -> None:
    state = tmp_path / "other-state.json"
    state.write_text('{"schema": 1, "containers": {}, "counters": {"x": 7}}')
    a = flockport.Cluster.open_with(inventory, state=state)
    flockport.Cluster.open(inventory).add_server("s1", subnet="10.0.4.0/24", local=True)
    assert a.servers() == []  # the inventory as `a` read it
    b = a.reopen()
    assert [s.name for s in b.servers()] == ["s1"]
    assert b.state().counters == {"x": 7}  # the same state file
    assert a.servers() == []


def test_open_uses_flockport_config(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flockport.Cluster.open(inventory).add_server("s1", subnet="10.0.4.0/24", local=True)
    monkeypatch.setenv("FLOCKPORT_CONFIG", str(inventory))
    assert [s.name for s in flockport.Cluster.open().servers()] == ["s1"]


def test_state_roundtrip(cluster: flockport.Cluster) -> None:
    st = cluster.state()
    assert isinstance(st, flockport.State)
    assert st.schema == 8 and st.containers == {} and st.counters == {} and st.lbs == {} and st.dbs == {}
    assert st.container_services == {} and st.agents == []
    d = st.to_dict()
    assert d["schema"] == 8 and d["containers"] == {} and d["counters"] == {}
    assert repr(st) == "State(schema=8, containers=[], lbs=[])"


def test_open_with_explicit_state(inventory: Path, tmp_path: Path) -> None:
    state = tmp_path / "elsewhere" / "state.json"
    state.parent.mkdir()
    state.write_text(
        '{"schema": 1, "containers": {"web1": {"server": "s1", "address": "10.0.4.100",'
        ' "image": "fp-img-base-1", "role": "app"}}, "counters": {"web": 1}}'
    )
    c = flockport.Cluster.open_with(inventory, state=state)
    st = c.state()
    rec = st.containers["web1"]
    assert isinstance(rec, flockport.ContainerRecord)
    assert (rec.server, rec.address, rec.image, rec.role) == (
        "s1",
        "10.0.4.100",
        "fp-img-base-1",
        "app",
    )
    assert st.counters == {"web": 1}
    assert "web1" in repr(st) and "10.0.4.100" in repr(rec)
    # del_container's dry run shows the plan and touches nothing.
    c.add_server("s1", subnet="10.0.4.0/24", local=True)
    applied = c.del_container("web1", dry_run=True)
    assert applied.executed is False
    assert applied.record == rec
    assert any(s.kind == "run" and s.argv and any("lxc-destroy" in a for a in s.argv) for s in applied.plan.steps)
    assert applied.plan.state_changes == ["remove container web1"]
    assert c.state().containers["web1"] == rec


def test_dry_run_plan_objects(ghost: flockport.Cluster) -> None:
    # A dry run probes the (temporary) lxcpath for real and plans.
    applied = ghost.add_container(
        "g1", "web1", packages=["nginx"], address="10.0.99.7", dry_run=True
    )
    assert isinstance(applied, flockport.Applied)
    assert applied.executed is False
    rec = applied.record
    assert isinstance(rec, flockport.ContainerRecord)
    assert (rec.server, rec.address, rec.role) == ("g1", "10.0.99.7", "app")
    assert rec.image.startswith("fp-img-nginx-")
    plan = applied.plan
    assert isinstance(plan, flockport.Plan)
    assert plan.operation == "addcontainer web1 on g1"
    assert plan.steps and all(isinstance(s, flockport.Step) for s in plan.steps)
    kinds = {s.kind for s in plan.steps}
    assert kinds <= {"run", "write_file"} and "run" in kinds
    for s in plan.steps:
        assert s.server == "g1"
        if s.kind == "run":
            assert s.argv and s.path is None and s.mode is None
        else:
            assert s.path and s.mode is not None and s.argv is None and s.content is not None
        assert s.description in s.render()
        assert s.to_dict()["server"] == "g1"
    assert plan.rollback and "lxc-destroy" in plan.rollback[0].render()
    assert plan.render().startswith("plan: addcontainer web1 on g1")
    assert str(plan) == plan.render()
    assert plan.to_dict()["operation"] == "addcontainer web1 on g1"
    assert repr(plan).startswith("Plan(operation='addcontainer web1 on g1', steps=")
    assert repr(applied).startswith("Applied(executed=False, record=ContainerRecord(")
    assert ghost.state().containers == {}
    # The address the ghost container uses is refused, naming it.
    with pytest.raises(flockport.InvalidInput, match="10.0.99.5"):
        ghost.add_container("g1", "web2", address="10.0.99.5", dry_run=True)


def test_build_image_dry_run(ghost: flockport.Cluster) -> None:
    applied = ghost.build_image("g1", ["haproxy"], dry_run=True)
    assert applied.executed is False
    assert isinstance(applied.record, str) and applied.record.startswith("fp-img-haproxy-")
    assert any("lxc-create" in s.render() for s in applied.plan.steps)
    assert ghost.probe("g1").container(applied.record) is None


def test_build_image_runs_with_progress(ghost: flockport.Cluster) -> None:
    # LXC's `none` template: a real lxc-create in the temporary lxcpath.
    seen: list[tuple[int, int, str]] = []
    applied = ghost.build_image(
        "g1", [], progress=lambda i, total, step: seen.append((i, total, step.kind))
    )
    assert applied.executed is True
    # lxc-create, the static network config, the mark that the build finished.
    assert seen == [(0, 3, "run"), (1, 3, "write_file"), (2, 3, "write_file")]
    image = applied.record
    assert isinstance(image, str) and image.startswith("fp-img-base-")
    info = ghost.probe("g1").container(image)
    assert info is not None and info.is_image
    # Images are not service containers.
    assert [c.name for c in ghost.containers()] == ["ghost"]
    again = ghost.build_image("g1", [])
    assert again.executed is True and again.plan.steps == [] and again.record == image


def test_failed_build_is_remote_command_failed(tmp_path: Path, local_lxc: None) -> None:
    from conftest import ghost_inventory

    c = flockport.Cluster.open(ghost_inventory(tmp_path, "nosuch-template"))
    with pytest.raises(flockport.RemoteCommandFailed, match="nosuch-template") as info:
        c.build_image("g1", [])
    assert info.value.details["status"] != 0
    assert "lxc-create" in info.value.details["command"]
    assert [x.name for x in c.probe("g1").containers] == ["ghost"]


def test_probe_and_containers_in_temp_lxcpath(ghost: flockport.Cluster) -> None:
    facts = ghost.probe("g1")
    assert isinstance(facts, flockport.ServerFacts)
    assert facts.lxc_version
    [c] = facts.containers
    assert isinstance(c, flockport.ContainerInfo)
    assert (c.name, c.server, c.is_image) == ("ghost", "g1", False)
    assert c.configured_ipv4 == "10.0.99.5" and c.address == "10.0.99.5" and c.ipv4 == []
    assert facts.container("ghost") == c and facts.container("nope") is None
    assert ghost.containers() == [c] == ghost.containers("g1")
    server, info = ghost.locate("ghost")
    assert server.name == "g1" and info == c
    assert repr(c) == f"ContainerInfo(name='ghost', server='g1', state={c.state!r}, address='10.0.99.5')"
    assert c.to_dict()["configured_ipv4"] == "10.0.99.5"
    [r] = ghost.probe_all()
    assert r.ok and r.facts == facts and r.error is None and r.server.name == "g1"
    assert repr(r).startswith("ProbeResult(server='g1', facts=ServerFacts(")


def test_transport_exec(ghost: flockport.Cluster) -> None:
    t = ghost.transport("g1")
    assert t.server() == "g1" and repr(t) == "Transport(server='g1')"
    out = t.exec(["sh", "-c", "cat; echo err >&2; exit 3"], stdin=b"in\n")
    assert isinstance(out, flockport.Output)
    assert (out.status, out.stdout, out.stderr) == (3, b"in\n", b"err\n")
    assert out.stdout_str() == "in\n"
    assert repr(out) == "Output(status=3, stdout='in\\n', stderr_bytes=4)"


def test_version() -> None:
    assert isinstance(flockport.__version__, str) and flockport.__version__.count(".") == 2
