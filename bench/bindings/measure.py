#!/usr/bin/env python3
"""bench/bindings/measure.py: the Python arms of bench/bindings.

    flockport-py/.venv/bin/python bench/bindings/measure.py DIR
        [--iters N] [--cheap-iters M] [--op-iters K] [--list-iters L] [--batches B] [--warmup-batches W]

Opens the cluster written by `flockport-bench-bindings setup DIR` with the
`flockport` module and times each call exactly as a Python program writes it:

  loop_floor     an empty loop body: what the Python loop itself costs per call
  server         cluster.server("s1")          -> ServerConfig
  list_servers   cluster.list_servers()        -> [ServerStatus] (one probe of s1)
  lbs            cluster.lbs()                 -> [LbInfo] (listlbs: 50 LBs, a health
                 check in each one's container)
  state          cluster.state()               -> State (blocking, GIL released)
  state_lbs      cluster.state().lbs           -> dict of 50 LbRecord objects
  state_async    await cluster.state_async()   (awaited one by one)
  state_executor await loop.run_in_executor(pool, cluster.state): how a Python
                 program makes a blocking call awaitable itself (one worker thread)

All arms run inside one asyncio loop (the blocking ones simply block it). Each
arm first runs W untimed batches; then, B times over, each arm runs one batch
of N calls (state arms), M calls (server, loop_floor) K calls
(list_servers) or L calls (lbs), timed with
time.perf_counter_ns, the arms taking turns (the first rotating each pass) as
the Rust measurement does. A sample is a batch's time divided by its calls.

Prints JSON on stdout: every sample, the median and p90 per call, and the
process's CPU time and context switches (all threads, /proc/self/task) per
call over the timed batches, less what reading them costs.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import inspect
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Union

import flockport

LBS = 50

Batch = Callable[[int], Union[None, Awaitable[None]]]


def process_counters() -> tuple[int, int] | None:
    """CPU ns and context switches of all threads, from /proc/self/task (as the
    Rust and Node measurements count them); a 1 ms sleep first brings this
    thread's schedstat up to date."""
    time.sleep(0.001)
    cpu = switches = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    for t in tasks:
        try:
            with open(f"/proc/self/task/{t}/schedstat") as f:
                cpu += int(f.read().split()[0])
            with open(f"/proc/self/task/{t}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        switches += int(line.split(":")[1])
        except (OSError, ValueError, IndexError):
            continue  # the thread exited meanwhile
    return cpu, switches


def counters_overhead() -> tuple[int, int]:
    """What two readings in a row count (median of a few tries): subtracted from every batch."""
    cpu, sw = [], []
    for _ in range(7):
        a, b = process_counters(), process_counters()
        if a and b:
            cpu.append(b[0] - a[0])
            sw.append(b[1] - a[1])
    return (int(statistics.median(cpu)), int(statistics.median(sw))) if cpu else (0, 0)


def median_p90(xs: list[float]) -> tuple[float, float]:
    v = sorted(xs)
    return statistics.median(v), v[max(1, math.ceil(0.9 * len(v))) - 1]


class Arm:
    def __init__(self, name: str, iters: int, batch: Batch):
        self.name, self.iters, self.batch = name, iters, batch
        self.samples: list[float] = []
        self.cpu: int | None = 0
        self.switches = 0

    async def run(self) -> None:
        r = self.batch(self.iters)
        if inspect.isawaitable(r):
            await r

    async def timed(self, overhead: tuple[int, int]) -> None:
        gc.collect()  # untimed: no arm pays for another one's cyclic garbage
        before = process_counters()
        t0 = time.perf_counter_ns()
        await self.run()
        dt = time.perf_counter_ns() - t0
        after = process_counters()
        self.samples.append(dt / self.iters)
        if before is None or after is None or self.cpu is None:
            self.cpu = None
        else:
            self.cpu += max(0, after[0] - before[0] - overhead[0])
            self.switches += max(0, after[1] - before[1] - overhead[1])

    def summary(self) -> dict[str, Any]:
        med, p90 = median_p90(self.samples)
        calls = len(self.samples) * self.iters
        return {
            "iters_per_batch": self.iters,
            "batches": len(self.samples),
            "ns_per_call": [round(x, 1) for x in self.samples],
            "median_ns": round(med, 1),
            "p90_ns": round(p90, 1),
            "cpu_ns_per_call": None if self.cpu is None else round(self.cpu / calls, 1),
            "ctx_switches_per_1000_calls": None if self.cpu is None else round(self.switches / calls * 1000, 1),
        }


async def measure(cluster: Any, a: argparse.Namespace) -> tuple[dict[str, Any], tuple[int, int]]:
    def loop_floor(n: int) -> None:
        for _ in range(n):
            pass

    def server(n: int) -> None:
        for _ in range(n):
            cluster.server("s1")

    def list_servers(n: int) -> None:
        for _ in range(n):
            if len(cluster.list_servers()) != 1:
                raise RuntimeError("list_servers() did not give the one server")

    def lbs(n: int) -> None:
        for _ in range(n):
            if len(cluster.lbs()) != LBS:
                raise RuntimeError("lbs() did not give the 50 load balancers")

    def state(n: int) -> None:
        for _ in range(n):
            cluster.state()

    def state_lbs(n: int) -> None:
        for _ in range(n):
            cluster.state().lbs

    async def state_async(n: int) -> None:
        for _ in range(n):
            await cluster.state_async()

    loop = asyncio.get_running_loop()
    pool = concurrent.futures.ThreadPoolExecutor(1)

    async def state_executor(n: int) -> None:
        for _ in range(n):
            await loop.run_in_executor(pool, cluster.state)

    arms = [
        Arm("loop_floor", a.cheap_iters, loop_floor),
        Arm("server", a.cheap_iters, server),
        Arm("list_servers", a.op_iters, list_servers),
        Arm("lbs", a.list_iters, lbs),
        Arm("state", a.iters, state),
        Arm("state_lbs", a.iters, state_lbs),
        Arm("state_async", a.iters, state_async),
        Arm("state_executor", a.iters, state_executor),
    ]
    for arm in arms:
        for _ in range(a.warmup_batches):
            await arm.run()
    overhead = counters_overhead()
    for p in range(a.batches):
        for k in range(len(arms)):
            await arms[(p + k) % len(arms)].timed(overhead)
    return {arm.name: arm.summary() for arm in arms}, overhead


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--iters", type=int, default=100, help="calls per batch of the state arms")
    ap.add_argument("--cheap-iters", type=int, default=10000, help="calls per batch of server and loop_floor")
    ap.add_argument("--op-iters", type=int, default=4, help="calls per batch of list_servers")
    ap.add_argument("--list-iters", type=int, default=2, help="calls per batch of lbs")
    ap.add_argument("--batches", type=int, default=25)
    ap.add_argument("--warmup-batches", type=int, default=3)
    a = ap.parse_args()

    inv = a.dir / "flockport.toml"
    if not inv.is_file():
        print(f"measure.py: {inv} is missing: run `flockport-bench-bindings setup {a.dir}` first", file=sys.stderr)
        return 2
    cluster = flockport.Cluster.open(str(inv))
    if len(cluster.state().lbs) != LBS or cluster.server("s1").name != "s1":
        print(f"measure.py: {a.dir} does not hold the benchmark's cluster ({LBS} LBs on s1)", file=sys.stderr)
        return 2

    calls, overhead = asyncio.run(measure(cluster, a))
    print(json.dumps({
        "lang": "python",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "flockport": {"version": flockport.__version__, "module": flockport.__file__},
        "gc_enabled": gc.isenabled(),
        "options": {"iters": a.iters, "cheap_iters": a.cheap_iters, "op_iters": a.op_iters, "list_iters": a.list_iters, "batches": a.batches,
                    "warmup_batches": a.warmup_batches},
        "counters_overhead": {"cpu_ns": overhead[0], "ctx_switches": overhead[1]},
        "calls": calls,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
