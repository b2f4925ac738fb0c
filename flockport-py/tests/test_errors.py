"""Every ErrorKind maps to its exception class, triggered for real."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import flockport

KINDS = {
    "InvalidInput": flockport.InvalidInput,
    "NotFound": flockport.NotFound,
    "AlreadyExists": flockport.AlreadyExists,
    "Unreachable": flockport.Unreachable,
    "RemoteCommandFailed": flockport.RemoteCommandFailed,
    "ConfigRejected": flockport.ConfigRejected,
    "Local": flockport.LocalError,
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


def test_config_rejected_class() -> None:
    # No core operation renders service configs yet, so nothing can make a
    # checker refuse one for real; the class is in place for when one does.
    e = flockport.ConfigRejected("x")
    assert isinstance(e, flockport.FlockportError)


def test_del_container_unknown_is_not_found(cluster: flockport.Cluster) -> None:
    with pytest.raises(flockport.NotFound, match="web9"):
        cluster.del_container("web9", dry_run=True)
