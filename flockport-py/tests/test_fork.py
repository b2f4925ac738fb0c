"""The runtime and the cluster keep working in a forked child."""

from __future__ import annotations

import os
import sys

import pytest

import flockport


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_gets_a_working_runtime(cluster: flockport.Cluster) -> None:
    cluster.add_server("local", subnet="10.0.3.0/24", local=True)
    cluster.add_server("dead", subnet="10.0.8.0/24", host="127.0.0.1", port=1)
    t = cluster.transport("local")
    # Use the runtime (and the SSH transport cache) in the parent first.
    assert t.exec(["true"]).status == 0
    assert len(cluster.list_servers()) == 2
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(r)
            statuses = cluster.list_servers()
            out = cluster.transport("local").exec(["echo", "child"])
            ok = len(statuses) == 2 and out.stdout == b"child\n"
            cluster.add_server("s9", subnet="10.0.9.0/24", local=True)
            ok = ok and [s.name for s in cluster.servers()] == ["local", "dead", "s9"]
            os.write(w, b"ok" if ok else repr((statuses, out)).encode())
            code = 0
        except BaseException as e:  # noqa: BLE001
            os.write(w, repr(e).encode())
        finally:
            sys.stdout.flush()
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        msg = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, msg
    assert msg == b"ok"
    # The parent is unaffected and sees the child's inventory edit on reopen.
    assert t.exec(["true"]).status == 0
    assert [s.name for s in flockport.Cluster.open(cluster.inventory_path()).servers()] == [
        "local",
        "dead",
        "s9",
    ]
