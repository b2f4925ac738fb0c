"""The state in Consul KV (lab + real Consul): a cluster opens the same way with either store.

One endpoint is made for the test (`add_ep`), the state moved to it and back with
`migrate_state`, and removed again (`del_ep --force`), also on failure.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import flockport

from conftest import _skip_or_fail

pytestmark = pytest.mark.lab


def test_a_cluster_opens_the_same_way_with_either_store(lab_copy: flockport.Cluster, tmp_path: Path) -> None:
    if shutil.which("consul") is None:
        _skip_or_fail("no `consul` on PATH (tests/run builds it with tests/consul/build-consul.sh)")
    c = lab_copy
    inv = tmp_path / "flockport.toml"
    state_file = tmp_path / "flockport-state.json"
    c.add_ep("s1", "10.0.4.10")
    try:
        planned = c.migrate_state("consul", dry_run=True)
        assert not planned.executed and "backend" not in inv.read_text()
        moved = c.migrate_state("consul")
        assert moved.executed and moved.record.source == "file"
        assert moved.record.target == "consul" and moved.record.endpoints == ["s1/10.0.4.10"], moved.record
        assert 'backend = "consul"' in inv.read_text() and not state_file.exists()
        # Another process's view: opened from the inventory alone, the state read from Consul.
        other = flockport.Cluster.open(inv)
        assert list(other.state().eps) == list(c.state().eps) == ["consul-10"]
        assert list(other.state_blocking().eps) == ["consul-10"]
        other.add_container("s2", "pystate1")
        try:
            assert "pystate1" in c.state().containers, "a change through one is seen by the other"
        finally:
            other.del_container("pystate1")
        back = c.migrate_state("file")
        assert back.record.target == "file" and state_file.exists()
        assert 'backend = "consul"' not in inv.read_text()
        assert list(flockport.Cluster.open(inv).state().eps) == ["consul-10"]
    finally:
        if 'backend = "consul"' in inv.read_text():
            c.migrate_state("file")
        c.del_ep("consul-10", force=True)
