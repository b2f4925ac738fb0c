"""Every ErrorKind maps to its exception class, triggered for real."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

import flockport
from conftest import REPO

KINDS = {
    "InvalidInput": flockport.InvalidInput,
    "NotFound": flockport.NotFound,
    "AlreadyExists": flockport.AlreadyExists,
    "Unreachable": flockport.Unreachable,
    "RemoteCommandFailed": flockport.RemoteCommandFailed,
    "ConfigRejected": flockport.ConfigRejected,
    "Local": flockport.LocalError,
    "Interrupted": flockport.Interrupted,
}


def test_hierarchy() -> None:
    for cls in KINDS.values():
        assert issubclass(cls, flockport.FlockportError)
        assert cls.__module__ == "flockport"
    assert issubclass(flockport.FlockportError, Exception)


def check_common(e: flockport.FlockportError, kind: str) -> None:
    assert type(e) is KINDS[kind]
    assert e.kind == kind
    assert isinstance(e.details, dict) and "variant" in e.details
    assert isinstance(e.causes, list)
    assert isinstance(e.errors, list)


def test_bad_subnet_is_invalid_input_naming_the_value(cluster: flockport.Cluster) -> None:
    with pytest.raises(flockport.InvalidInput) as info:
        cluster.add_server("s1", subnet="10.0.4.0/99", local=True)
    e = info.value
    check_common(e, "InvalidInput")
    assert "10.0.4.0/99" in str(e)
    assert e.details["field"] == "subnet"
    assert e.details["value"] == "10.0.4.0/99"
    assert cluster.servers() == []


def test_bad_name_is_invalid_input(cluster: flockport.Cluster) -> None:
    with pytest.raises(flockport.InvalidInput, match="a;b"):
        cluster.add_server("a;b", subnet="10.0.4.0/24", local=True)


def test_unknown_server_is_not_found(cluster: flockport.Cluster) -> None:
    cluster.add_server("s1", subnet="10.0.4.0/24", local=True)
    with pytest.raises(flockport.NotFound) as info:
        cluster.server("nope")
    check_common(info.value, "NotFound")
    assert "nope" in str(info.value) and "s1" in str(info.value)
    assert info.value.details["name"] == "nope"
    with pytest.raises(flockport.NotFound, match="nope"):
        cluster.probe("nope")
    with pytest.raises(flockport.NotFound, match="nope"):
        cluster.del_server("nope")


def test_duplicate_add_server_is_already_exists(cluster: flockport.Cluster) -> None:
    cluster.add_server("s1", subnet="10.0.4.0/24", local=True)
    with pytest.raises(flockport.AlreadyExists) as info:
        cluster.add_server("s1", subnet="10.0.5.0/24", local=True)
    check_common(info.value, "AlreadyExists")
    assert '"s1"' in str(info.value)
    assert [s.name for s in cluster.servers()] == ["s1"]


def test_closed_port_is_unreachable_in_status_and_error(cluster: flockport.Cluster) -> None:
    cluster.add_server("dead", subnet="10.0.8.0/24", host="127.0.0.1", port=1)
    [status] = cluster.list_servers()
    assert status.name == "dead" and status.host == "127.0.0.1"
    assert status.reachable is False
    assert status.error is not None and "127.0.0.1:1" in status.error
    with pytest.raises(flockport.Unreachable) as info:
        cluster.probe("dead")
    e = info.value
    check_common(e, "Unreachable")
    assert e.details["server"] == "dead"
    # The Rust source chain is kept: as `causes` and as `__cause__`.
    assert e.causes, "the openssh error chain is lost"
    assert any("refused" in c.lower() for c in e.causes), e.causes
    assert isinstance(e.__cause__, Exception)
    assert str(e.__cause__) == e.causes[0]


def test_failed_command_is_remote_command_failed(ghost: flockport.Cluster) -> None:
    # `ghost` is a container directory LXC cannot run: lxc-attach fails for real.
    # (Empty contents: lxc-attach exits without reading its input, and the
    # core's local transport reports a non-empty write into that closed pipe
    # as a LocalError "Broken pipe" instead of the exit status.)
    with pytest.raises(flockport.RemoteCommandFailed) as info:
        ghost.push("ghost", "/etc/motd", b"")
    e = info.value
    check_common(e, "RemoteCommandFailed")
    assert e.details["variant"] == "RemoteCommand"
    assert e.details["server"] == "g1"
    assert e.details["status"] != 0
    assert "lxc-attach" in e.details["command"]
    # exec returns the output whatever the status.
    out = ghost.exec("ghost", ["true"])
    assert out.status != 0


def test_corrupt_state_is_local_error(inventory: Path) -> None:
    cluster = flockport.Cluster.open(inventory)
    cluster.add_server("s1", subnet="10.0.4.0/24", local=True)
    state = inventory.parent / "flockport-state.json"
    state.write_text("{ not json")
    for call in (cluster.state, cluster.state_blocking):
        with pytest.raises(flockport.LocalError) as info:
            call()
        check_common(info.value, "Local")
        assert info.value.details["variant"] == "StateCorrupt"
        assert str(state) in str(info.value)
    async def read_async() -> flockport.State:
        return await cluster.state_async()

    with pytest.raises(flockport.LocalError):
        asyncio.run(read_async())
    assert state.read_text() == "{ not json"


def test_unparsable_inventory_is_local_error(inventory: Path) -> None:
    inventory.write_text("[[server]]\nname = 3\n")
    with pytest.raises(flockport.LocalError, match=str(inventory)):
        flockport.Cluster.open(inventory)


# What the stand-in `lxc-attach` of `refusing_lb` prints for the LB's config check.
REFUSAL = "[ALERT] (1) : config : parsing [/etc/haproxy/haproxy.cfg.next:12] : unknown keyword 'frobnicate'"

# A directory whose `lxc-attach` is a test stand-in (see the script).
STANDIN = REPO / "tests" / "standins" / "config-check-refused"


@pytest.fixture
def refusing_lb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[flockport.Cluster, Path, Path]:
    """A local server `g1` with an HAProxy load balancer `ha1` in the state,
    and an `lxc-attach` stand-in first on PATH whose config check refuses:
    the core runs its real plan (local transport, real processes) and its
    check step fails. Returns the cluster, the state file and the log of
    the commands the stand-in was given."""
    log = tmp_path / "attach.log"
    monkeypatch.setenv("PATH", f"{STANDIN}:{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FLOCKPORT_TEST_ATTACH_LOG", str(log))
    monkeypatch.setenv("FLOCKPORT_TEST_REFUSAL", REFUSAL)
    inv = tmp_path / "flockport.toml"
    inv.write_text(
        '[[server]]\nname = "g1"\ntransport = "local"\nsubnet = "10.0.99.0/24"\n'
        f'lxcpath = "{tmp_path / "lxc"}"\n'
    )
    state = tmp_path / "flockport-state.json"
    state.write_text(
        '{"schema": 1, "containers": {"ha1": {"server": "g1", "address": "10.0.99.90", '
        '"image": "fp-img-haproxy-00000000", "role": "haproxy-lb"}}, "counters": {}, '
        '"lbs": {"ha1": {"name": "ha1", "kind": "haproxy", "server": "g1", "address": "10.0.99.90", '
        '"mode": "roundrobin", "backends": [{"name": "web1", "host": "10.0.99.20", "port": 80}], '
        '"published": []}}}\n'
    )
    return flockport.Cluster.open(inv), state, log


def check_config_rejected(e: flockport.FlockportError, state: Path, before: bytes, log: Path) -> None:
    check_common(e, "ConfigRejected")
    assert e.details == {"variant": "ConfigRejected", "server": "g1", "service": "haproxy", "detail": REFUSAL}
    assert str(e) == f"server g1: haproxy refused the new configuration: {REFUSAL}"
    # Nothing committed, and nothing ran after the refused check: the staged
    # config was not installed, haproxy not reloaded.
    assert state.read_bytes() == before
    sent = log.read_text().splitlines()
    assert sent and sent[-1].endswith("-- haproxy -c -q -f /etc/haproxy/haproxy.cfg.next"), sent
    assert not any("haproxy.cfg.next /etc/haproxy/haproxy.cfg" in line or "systemctl" in line for line in sent), sent


def test_refused_config_is_config_rejected(refusing_lb: tuple[flockport.Cluster, Path, Path]) -> None:
    cluster, state, log = refusing_lb
    before = state.read_bytes()
    with pytest.raises(flockport.ConfigRejected) as info:
        cluster.set_lb("ha1", "workers", "2")
    check_config_rejected(info.value, state, before, log)
    assert cluster.state().lbs["ha1"].workers is None


def test_refused_config_is_config_rejected_async(refusing_lb: tuple[flockport.Cluster, Path, Path]) -> None:
    cluster, state, log = refusing_lb
    before = state.read_bytes()

    async def set_workers() -> flockport.Applied[flockport.LbRecord]:
        return await cluster.set_lb_async("ha1", "workers", "2")

    with pytest.raises(flockport.ConfigRejected) as info:
        asyncio.run(set_workers())
    check_config_rejected(info.value, state, before, log)


def test_del_container_unknown_is_not_found(cluster: flockport.Cluster) -> None:
    with pytest.raises(flockport.NotFound, match="web9"):
        cluster.del_container("web9", dry_run=True)
