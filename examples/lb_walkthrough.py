#!/usr/bin/env python3
"""The documentation's load-balancer walk-through, from Python, against the lab.

An HAProxy load balancer on s1 in front of c1, c3 and c5 (one app container on
each lab server), requests through it in round-robin and in source mode, a
backend removed, the balancer published on s1's host address, and everything
removed again. Needs the lab (``tests/lab/lab up``) and the module
(``pip install ./flockport-py``)::

    python3 examples/lb_walkthrough.py [INVENTORY] [LB_NAME]

INVENTORY defaults to ``tests/lab/out/flockport.toml``, LB_NAME to
``ha-py-<pid>``. Exits non-zero, after removing the load balancer, when a step
does not do what the documentation says. ``lb_walkthrough.rs`` and
``lb_walkthrough.js`` are the same walk-through from Rust and Node.
"""

from __future__ import annotations

import collections
import os
import sys
import urllib.request

import flockport

BACKENDS = ["web1:10.0.4.20:80", "web2:10.0.5.20:80", "web3:10.0.7.20:80"]


def tally(addr: str, port: int, n: int) -> dict[str, int]:
    """n HTTP requests to addr:port, counted by the answering container (the body)."""
    counts: collections.Counter[str] = collections.Counter()
    for _ in range(n):
        with urllib.request.urlopen(f"http://{addr}:{port}/", timeout=5) as r:
            counts[r.read().decode().strip()] += 1
    return dict(sorted(counts.items()))


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"lb_walkthrough.py: failed: {what}")


def walkthrough(cluster: flockport.Cluster, name: str) -> None:
    # flockport addlb haproxy s1 -n NAME
    lb = cluster.add_lb("haproxy", "s1", name=name).record
    assert isinstance(lb, flockport.LbRecord)
    print(f"addlb haproxy s1 -n {name}: {lb.kind} at {lb.address}")

    # flockport addbackends NAME web1:10.0.4.20:80 web2:10.0.5.20:80 web3:10.0.7.20:80
    cluster.add_backends(name, BACKENDS)
    for info in cluster.lbs():
        if info.record.name == name:
            health = " ".join(f"{h.backend}={h.health}" for h in info.health)
            print(f"listlbs: {name} mode={info.record.mode} backends: {health}")

    counts = tally(lb.address, 80, 30)
    print(f"30 requests (roundrobin): {counts}")
    check(all(counts.get(c, 0) >= 5 for c in ("c1", "c3", "c5")), "roundrobin spreads requests")

    # flockport setlb NAME mode source: one client, one backend.
    cluster.set_lb(name, "mode", "source")
    counts = tally(lb.address, 80, 10)
    print(f"10 requests (source): {counts}")
    check(len(counts) == 1, "source mode keeps a client on one backend")

    # flockport delbackends NAME web2: c3 gets nothing more.
    cluster.set_lb(name, "mode", "roundrobin")
    cluster.del_backends(name, ["web2"])
    counts = tally(lb.address, 80, 12)
    print(f"12 requests after delbackends web2: {counts}")
    check("c3" not in counts and len(counts) == 2, "web2 (c3) is out of rotation")

    # flockport pub s1:NAME 80: s1's host address answers for the balancer.
    rec = cluster.publish(f"s1:{name}", 80).record
    assert isinstance(rec, flockport.ServiceContainer)
    host = cluster.server("s1").host
    assert host is not None
    counts = tally(host, 80, 4)
    print(f"pub s1:{name} 80 -> forwards {rec.forwards}; 4 requests to {host}:80: {counts}")
    check(len(counts) == 2, "the published port reaches the backends")


def main() -> int:
    inventory = sys.argv[1] if len(sys.argv) > 1 else "tests/lab/out/flockport.toml"
    name = sys.argv[2] if len(sys.argv) > 2 else f"ha-py-{os.getpid()}"
    cluster = flockport.Cluster.open(inventory)
    try:
        walkthrough(cluster, name)
    finally:
        # Whatever happened, the load balancer goes (when it was created).
        if name in cluster.state().lbs:
            cluster.del_lb(name)
            print(f"dellb {name}: removed")
    print("walk-through passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except flockport.FlockportError as e:
        sys.exit(f"lb_walkthrough.py: {e}")
