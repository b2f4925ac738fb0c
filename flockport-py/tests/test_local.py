"""The local transport on this machine's LXC (it probes /var/lib/lxc)."""

from __future__ import annotations

import flockport


def test_local_server_lists(cluster: flockport.Cluster, local_lxc: None) -> None:
    s = cluster.add_server("here", subnet="10.0.3.0/24", local=True)
    assert s.transport == "local" and s.host is None
    [status] = cluster.list_servers()
    assert isinstance(status, flockport.ServerStatus)
    assert status.reachable is True, status.error
    assert status.error is None
    assert status.host == "local" and status.subnet == "10.0.3.0/24"
    assert status.lxc_version and status.lxc_version[0].isdigit()
    assert status.containers >= 0 and status.images >= 0 and status.millis >= 0
    assert status.to_dict()["reachable"] is True
    assert repr(status).startswith("ServerStatus(name='here', host='local'")
    facts = cluster.probe("here")
    assert facts.lxc_version == status.lxc_version
    assert len([c for c in facts.containers if not c.is_image]) == status.containers
    assert all(c.server == "here" for c in cluster.containers())
