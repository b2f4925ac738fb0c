#!/usr/bin/env python3
"""bench/bindings/report.py: helpers of bench/bindings/run (standard library only).

    report.py quiet THRESHOLD MAX_WAIT
        waits (at most MAX_WAIT s) until less than THRESHOLD of all CPUs is
        busy; prints "BUSY WAITED" (busy share just before returning, seconds
        waited)

    report.py report --rounds DIR --setup FILE --meta FILE --md OUT.md --json OUT.json
        reads the per-round outputs of the three measurements
        (DIR/round-K-{rust,python,node}.json and DIR/round-K-{...}.busy) and
        writes the results: a table of medians, the binding's share of each
        call, whether the <= 5 % target is met, where the time goes, spreads.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

TARGET = 0.05
LANGS = ("rust", "python", "node")

# --------------------------------------------------------------- quietness ----


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def busy_fraction(window: float = 0.5) -> float:
    """Share of all CPUs busy (any process) over `window` seconds."""
    b0, t0 = _cpu_times()
    time.sleep(window)
    b1, t1 = _cpu_times()
    return (b1 - b0) / max(1, t1 - t0)


def quiet(threshold: float, max_wait: float) -> int:
    t0 = time.monotonic()
    b = busy_fraction()
    while b > threshold and time.monotonic() - t0 < max_wait:
        time.sleep(0.5)
        b = busy_fraction()
    print(f"{b:.2f} {time.monotonic() - t0:.1f}")
    return 0


# ------------------------------------------------------------------ report ----


def median_p90(xs: list[float]) -> tuple[float, float]:
    v = sorted(xs)
    return statistics.median(v), v[max(1, math.ceil(0.9 * len(v))) - 1]


def load_rounds(d: Path) -> dict[str, list[dict[str, Any]]]:
    rounds: dict[str, list[dict[str, Any]]] = {lang: [] for lang in LANGS}
    names = sorted(d.glob("round-*-*.json"), key=lambda p: (int(p.name.split("-")[1]), p.name))
    for p in names:
        m = re.fullmatch(r"round-(\d+)-(\w+)\.json", p.name)
        if not m or m.group(2) not in rounds:
            continue
        doc = json.loads(p.read_text())
        busy_file = p.with_suffix(".busy")
        busy, waited = (None, None)
        if busy_file.exists():
            parts = busy_file.read_text().split()
            busy, waited = float(parts[0]), float(parts[1])
        doc["round"] = int(m.group(1))
        doc["cpu_busy_before"] = busy
        doc["waited_s"] = waited
        rounds[m.group(2)].append(doc)
    return rounds


def aggregate(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per call: all batches of all rounds pooled (median, p90), the per-round
    medians, and the median over rounds of CPU time and context switches per call."""
    out: dict[str, Any] = {}
    for doc in rounds:
        for call, s in doc["calls"].items():
            a = out.setdefault(call, {"samples": [], "round_medians": [], "round_cpu": [], "round_switches": []})
            a["samples"].extend(s["ns_per_call"])
            if "bytes" in s:
                a["bytes"] = s["bytes"]
            a["round_medians"].append(s["median_ns"])
            if s.get("cpu_ns_per_call") is not None:
                a["round_cpu"].append(s["cpu_ns_per_call"])
                a["round_switches"].append(s["ctx_switches_per_1000_calls"] / 1000)
    for a in out.values():
        med, p90 = median_p90(a["samples"])
        a["median_ns"] = round(med, 1)
        a["p90_ns"] = round(p90, 1)
        a["round_min_ns"] = min(a["round_medians"])
        a["round_max_ns"] = max(a["round_medians"])
        a["batches"] = len(a["samples"])
        a["cpu_ns"] = round(statistics.median(a["round_cpu"]), 1) if a["round_cpu"] else None
        a["ctx_switches"] = round(statistics.median(a["round_switches"]), 2) if a["round_switches"] else None
    return out


def fmt_ns(v: float | None) -> str:
    if v is None:
        return "—"
    if abs(v) >= 100_000:
        return f"{v / 1000:,.0f} µs"
    if abs(v) >= 1000:
        return f"{v / 1000:,.1f} µs"
    if abs(v) >= 10:
        return f"{v:,.0f} ns"
    return f"{v:.1f} ns"


def share(binding: float | None, rust: float | None) -> float | None:
    if binding is None or rust is None or binding <= 0:
        return None
    return (binding - rust) / binding


def fmt_share(s: float | None) -> str:
    return "—" if s is None else f"{s:.1%}"


def fmt_x(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}x"


def verdict(shares: list[float | None]) -> str:
    known = [s for s in shares if s is not None]
    if not known:
        return "—"
    met = [s <= TARGET for s in known]
    if all(met):
        return "met"
    if not any(met):
        return "**not met**"
    return "**partly**"


# What each row compares: (label, short name, rust arm, python arm, node arm).
ROWS = [
    ("cheap: `server(\"s1\")`", "`server`", "server", "server", "server"),
    ("list: `state()` (Python blocking, Node `await`)", "`state`", "state", "state", "state"),
    ("list: Python `await state_async()`", "`state_async`", "state", "state_async", None),
    ("list, all 50 LBs as objects: Python `state().lbs`, Node `await state()`", "`state().lbs`", "state",
     "state_lbs", "state"),
]


def report(a: argparse.Namespace) -> int:
    rounds = load_rounds(Path(a.rounds))
    if not all(rounds[lang] for lang in LANGS):
        missing = [lang for lang in LANGS if not rounds[lang]]
        print(f"report.py: no measurements for {', '.join(missing)} in {a.rounds}", file=sys.stderr)
        return 1
    setup = json.loads(Path(a.setup).read_text())
    meta = json.loads(Path(a.meta).read_text())
    agg = {lang: aggregate(rounds[lang]) for lang in LANGS}

    def get(lang: str, call: str | None, key: str = "median_ns") -> float | None:
        if call is None or call not in agg[lang]:
            return None
        v = agg[lang][call][key]
        return None if v is None else float(v)

    by_round = {lang: {doc["round"]: doc for doc in rounds[lang]} for lang in LANGS}

    def paired_ratios(lang: str, arm: str | None, r_arm: str, key: str) -> list[float]:
        """binding / Rust within each round (measured seconds apart), for every round that has both."""
        if arm is None:
            return []
        out = []
        for k, rdoc in by_round["rust"].items():
            bdoc = by_round[lang].get(k)
            if bdoc is None or arm not in bdoc["calls"] or r_arm not in rdoc["calls"]:
                continue
            b, r = bdoc["calls"][arm].get(key), rdoc["calls"][r_arm].get(key)
            if b is not None and r:
                out.append(b / r)
        return out

    rows = []
    for label, short, r_arm, p_arm, n_arm in ROWS:
        row: dict[str, Any] = {"call": label, "short": short, "rust_arm": r_arm, "python_arm": p_arm, "node_arm": n_arm}
        for key, agg_key, tag in (("median_ns", "median_ns", ""), ("cpu_ns_per_call", "cpu_ns", "_cpu")):
            suffix = "ns" if tag == "" else "cpu_ns"
            row[f"rust_{suffix}"] = get("rust", r_arm, agg_key)
            for lang, arm in (("python", p_arm), ("node", n_arm)):
                row[f"{lang}_{suffix}"] = get(lang, arm, agg_key)
                ratios = paired_ratios(lang, arm, r_arm, key)
                ratio = statistics.median(ratios) if ratios else None
                row[f"{lang}_ratio{tag}"] = None if ratio is None else round(ratio, 3)
                row[f"{lang}_share{tag}"] = None if ratio is None else round(1 - 1 / ratio, 4)
                row[f"{lang}_share{tag}_rounds"] = [round(1 - 1 / x, 4) for x in ratios]
        row["target_met"] = {
            lang: None if row[f"{lang}_share"] is None else row[f"{lang}_share"] <= TARGET for lang in ("python", "node")
        }
        rows.append(row)

    def d(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else round(x - y, 1)

    def c(lang: str, call: str) -> float | None:
        return get(lang, call, "cpu_ns")
    breakdown = {
        "basis": "CPU ns per call, all threads (medians over rounds)",
        "rust_server_clone_ns": d(c("rust", "server_cloned"), c("rust", "server")),
        "python_server_rest_ns": d(d(c("python", "server"), c("rust", "server_cloned")), c("python", "loop_floor")),
        "node_server_rest_ns": d(d(c("node", "server"), c("rust", "server_cloned")), c("node", "loop_floor")),
        "rust_polled_vs_block_on_ns": d(c("rust", "state_polled"), c("rust", "state")),
        "python_runtime_hop_ns": d(c("rust", "state_py_path"), c("rust", "state")),
        "python_gil_object_ns": d(c("python", "state"), c("rust", "state_py_path")),
        "python_lbs_objects_ns": d(c("python", "state_lbs"), c("python", "state")),
        "python_async_extra_ns": d(c("python", "state_async"), c("python", "state")),
        "node_runtime_hop_ns": d(c("rust", "state_node_path"), c("rust", "state")),
        "node_conversion_ns": d(c("node", "state"), c("rust", "state_node_path")),
    }

    doc = {
        "benchmark": "bindings",
        "generated": meta.get("generated"),
        "meta": meta,
        "setup": setup,
        "target": {"max_binding_share": TARGET, "share": "(binding - Rust) / binding, of medians"},
        "rows": rows,
        "breakdown": breakdown,
        "aggregate": agg,
        "rounds": rounds,
    }
    Path(a.json).write_text(json.dumps(doc, indent=1) + "\n")
    Path(a.md).write_text(markdown(doc) + "\n")
    return 0


def markdown(doc: dict[str, Any]) -> str:
    meta, setup, agg, rounds, b = doc["meta"], doc["setup"], doc["aggregate"], doc["rounds"], doc["breakdown"]
    n_rounds = len(rounds["rust"])
    opts = rounds["rust"][0]["options"]

    def cpu(lang: str, call: str) -> float | None:
        v = agg[lang].get(call, {}).get("cpu_ns")
        return None if v is None else float(v)

    def sw(lang: str, call: str) -> str:
        v = agg[lang].get(call, {}).get("ctx_switches")
        return "—" if v is None else f"{v:.1f}"

    out = [
        "# Binding overhead: per-call cost from Python and Node against Rust",
        "",
        f"Generated by `bench/bindings/run` on {meta.get('generated')} "
        f"({meta.get('commit', 'unknown commit')}). {n_rounds} rounds, each running the Rust, Python and "
        "Node measurements once, as separate processes, in rotating order. In each, every call first runs "
        f"{opts['warmup_batches']} untimed batches; then {opts['batches']} times over, each call runs one "
        f"timed batch of {opts['cheap_iters']} (`server`) or {opts['iters']} (`state`) calls, the calls "
        "taking turns. A sample is a batch's wall time divided by its calls; the first table's cells are "
        "the **median over all batches of all rounds, ns per call**.",
        "",
        f"The cluster: an inventory with one server `s1` on the local transport and a state file of "
        f"{setup['lbs']} load balancers (30 HAProxy, 20 Nginx; {setup['backends']} backends, published "
        f"ports, some with TLS, workers, resolvers) and their {setup['containers']} container records: "
        f"{setup['state_bytes']:,} bytes of JSON, mode 0600, a serialised core `State` written by "
        "`flockport-bench-bindings setup`. Nothing contacts a server: `server()` searches the inventory "
        "loaded at open; `state()` reads and parses the state file on every call.",
        "",
        "**Binding share** = (binding − Rust) / binding: the part of the call the binding adds, "
        f"target ≤ {TARGET:.0%}. The machine's speed drifts between rounds (a virtual machine on a shared "
        "host; Rust's own `state()` moves by tens of percent from round to round), so ratios and shares "
        "are paired: binding / Rust within each round, whose measurements run seconds apart, then the "
        "median over rounds; the per-round spread of the shares is under the tables.",
        "",
        "| call | Rust | Python | Node | Python/Rust | Node/Rust | Python share | Node share | ≤ 5 % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in doc["rows"]:
        out.append(
            f"| {r['call']} | {fmt_ns(r['rust_ns'])} | {fmt_ns(r['python_ns'])} | {fmt_ns(r['node_ns'])} | "
            f"{fmt_x(r['python_ratio'])} | {fmt_x(r['node_ratio'])} | "
            f"{fmt_share(r['python_share'])} | {fmt_share(r['node_share'])} | "
            f"{verdict([r['python_share'], r['node_share']])} |"
        )
    out += ["", "Binding share per round (min–max): " + "; ".join(
        f"{r['short']} {lang} {fmt_share(min(r[f'{lang}_share_rounds']))}–"
        f"{fmt_share(max(r[f'{lang}_share_rounds']))}"
        for r in doc["rows"] for lang in ("python", "node") if r[f"{lang}_share_rounds"]
    ) + "."]
    out += [
        "",
        "The same calls in **CPU time per call** (all threads of the process: the caller, tokio's workers "
        "and blocking pool, V8's; from `/proc/self/task/*/schedstat` over the timed batches, median over "
        "rounds; shares paired by round as above), which other processes on the machine disturb less than "
        "wall time (the host's drift it does not remove), and context switches per call:",
        "",
        "| call | Rust CPU | Python CPU | Node CPU | Python share | Node share | switches R / P / N |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in doc["rows"]:
        switches = " / ".join(
            sw(lang, arm) if arm else "—"
            for lang, arm in (("rust", r["rust_arm"]), ("python", r["python_arm"]), ("node", r["node_arm"]))
        )
        out.append(
            f"| {r['call']} | {fmt_ns(r['rust_cpu_ns'])} | {fmt_ns(r['python_cpu_ns'])} | "
            f"{fmt_ns(r['node_cpu_ns'])} | {fmt_share(r['python_share_cpu'])} | "
            f"{fmt_share(r['node_share_cpu'])} | {switches} |"
        )
    out += [
        "",
        "What each arm includes:",
        "",
        "- **Rust** `server`: `cluster.server(\"s1\")`, the `&ServerConfig` a Rust caller borrows. "
        "`state`: `rt.block_on(cluster.state())` from the main thread, on a multi-thread tokio runtime built "
        "as flockport-py builds its own (`new_multi_thread().enable_all()`, one worker per CPU; napi-rs's "
        "default runtime is the same); the core reads the file on tokio's blocking pool (`spawn_blocking`) "
        "and parses it with serde_json.",
        "- **Python** (module `flockport`, PyO3, from `flockport-py/.venv`): `server`: `cluster.server(\"s1\")` "
        "returns a `ServerConfig` object around a clone of the core record (its getters convert lazily). "
        "`state`: the blocking `cluster.state()`: `runtime::block_on` spawns the future on the module's "
        "runtime and blocks on its `JoinHandle` with the GIL released; the result is one `State` object "
        "around the core `State` (no per-LB object yet). `state().lbs` adds the dict of 50 `LbRecord` "
        "objects (each around a clone of the core record). `await state_async()`: one asyncio loop; the "
        "future runs as a task, a second task takes the GIL and hands the result to the loop with "
        "`call_soon_threadsafe`.",
        "- **Node** (flockport-node, napi-rs): `server`: `cluster.server('s1')` returns a plain object, "
        "every field converted at once. `await state()`: the future runs in a task that spawns it as "
        "another task (`promise::promise_with`) and converts the result to the binding's `State` struct; "
        "the Promise is resolved on the JS thread, which builds every object (50 LbRecords and their "
        "backends, 50 ContainerRecords) at once.",
        "- Each binding figure includes the language's own loop (an empty loop body costs "
        f"{fmt_ns(agg['python']['loop_floor']['median_ns'])} per iteration in Python, "
        f"{fmt_ns(agg['node']['loop_floor']['median_ns'])} in Node) and the freeing of the result.",
        "",
        "## Where the time goes",
        "",
        "Rust arms that take each binding's path without the binding (same process, same runtime):",
        "",
        "| Rust arm | wall | CPU | switches | what it is |",
        "|---|---:|---:|---:|---|",
    ]
    arms = [
        ("server", "`cluster.server(\"s1\")`: the borrow"),
        ("server_cloned", "the same, `.cloned()`: the owned record both bindings copy before converting"),
        ("state", "`rt.block_on(cluster.state())`"),
        ("state_polled", "the caller polls the future under a 100 ms `timeout` (flockport-py's Ctrl-C poll), "
                         "no task spawned"),
        ("state_py_path", "flockport-py's path: `rt.spawn(fut)`, then block on the `JoinHandle` under the "
                          "100 ms `timeout`"),
        ("state_node_path", "flockport-node's path: a task that `tokio::spawn`s the future and awaits it; the "
                            "caller blocks on the outer task"),
    ]
    for arm, what in arms:
        if arm in agg["rust"]:
            a = agg["rust"][arm]
            out.append(f"| `{arm}` | {fmt_ns(a['median_ns'])} | {fmt_ns(a['cpu_ns'])} | {sw('rust', arm)} | {what} |")
    out += [
        "",
        "Decomposition, in CPU time per call (differences of medians from different processes: approximate; "
        "a difference within the noise can come out slightly negative):",
        "",
        f"- `server` from Python ({fmt_ns(cpu('python', 'server'))}): the owned clone "
        f"({fmt_ns(cpu('rust', 'server_cloned'))} in Rust), the Python loop ({fmt_ns(cpu('python', 'loop_floor'))}), "
        f"and {fmt_ns(b['python_server_rest_ns'])} of binding: the method call and argument extraction, "
        "`Cluster::core`'s fork check (`std::process::id()`, a `getpid` system call on every call) and "
        "mutex, allocating and freeing the `ServerConfig` object.",
        f"- `server` from Node ({fmt_ns(cpu('node', 'server'))}): the owned clone, and "
        f"{fmt_ns(b['node_server_rest_ns'])} of binding, nearly all of it building the returned object one "
        "N-API property at a time (`napi_set_named_property` with a freshly made key string per property).",
        f"- `state()` from Python: the spawn and the hop back to the caller (`state_py_path` − `state`) "
        f"{fmt_ns(b['python_runtime_hop_ns'])}; the GIL release/reacquire, the `State` object and the Python "
        f"call (Python `state` − `state_py_path`) {fmt_ns(b['python_gil_object_ns'])}. Polling the future "
        f"in place instead (`state_polled` − `state`) costs {fmt_ns(b['rust_polled_vs_block_on_ns'])}. "
        f"Building the 50 `LbRecord` objects (`.lbs`) adds {fmt_ns(b['python_lbs_objects_ns'])}; "
        f"`state_async` costs {fmt_ns(b['python_async_extra_ns'])} more than the blocking call "
        "(two tasks, the GIL taken on a worker, `call_soon_threadsafe`, the loop's wake-up and callbacks).",
        f"- `state()` from Node: the two spawns (`state_node_path` − `state`) {fmt_ns(b['node_runtime_hop_ns'])}; "
        f"the conversion to JS objects, their garbage collection and the Promise's trip through the event "
        f"loop (Node `state` − `state_node_path`) {fmt_ns(b['node_conversion_ns'])}.",
        "",
    ]
    out += notes(doc)
    out += [
        "## Spread",
        "",
        "Median per round (min–max over the rounds) and p90 over all batches, wall time.",
        "",
        "| language | call | median | p90 | round medians | CPU |",
        "|---|---|---:|---:|---|---:|",
    ]
    for lang in LANGS:
        for call, a in agg[lang].items():
            out.append(
                f"| {lang} | `{call}` | {fmt_ns(a['median_ns'])} | {fmt_ns(a['p90_ns'])} | "
                f"{fmt_ns(a['round_min_ns'])} – {fmt_ns(a['round_max_ns'])} | {fmt_ns(a['cpu_ns'])} |"
            )
    busy = {lang: [d["cpu_busy_before"] for d in rounds[lang] if d["cpu_busy_before"] is not None] for lang in LANGS}
    waited = sum(d["waited_s"] or 0 for lang in LANGS for d in rounds[lang])
    out += [
        "",
        "CPU busy share (all processes) just before the measurement processes, median over rounds: "
        + ", ".join(f"{lang} {statistics.median(v):.0%}" for lang, v in busy.items() if v)
        + f"; waited {waited:.0f} s in all for a quieter machine (threshold {meta.get('quiet_threshold')}). "
        f"Load average before → after: {meta.get('loadavg_before')} → {meta.get('loadavg_after')}; "
        f"measuring took {meta.get('measuring_s')} s.",
        "",
        f"Versions: {meta.get('rustc')}; Python {rounds['python'][0].get('python')}; "
        f"Node {rounds['node'][0].get('node')}. Modules measured: `{meta.get('python_module')}` "
        f"(built {meta.get('python_module_built')}), `{meta.get('node_addon')}` (built "
        f"{meta.get('node_addon_built')})."
        + (f" Warning: {meta['stale']}." if meta.get("stale") else ""),
    ]
    return "\n".join(out)


def notes(doc: dict[str, Any]) -> list[str]:
    """What the numbers say, generated from them (so that a rerun after a fix stays true)."""
    agg, b = doc["aggregate"], doc["breakdown"]
    rows = {r["rust_arm"] + "/" + (r["python_arm"] or "") : r for r in doc["rows"]}
    out = ["## Reading the results", ""]
    cheap = rows["server/server"]
    r_clone = agg["rust"]["server_cloned"]["cpu_ns"]
    out.append(
        f"- **Cheap call.** From Rust, `server(\"s1\")` is a borrow of {fmt_ns(cheap['rust_ns'])}; even the "
        f"owned copy is {fmt_ns(r_clone)}. Any call from another language costs more than that before it does "
        f"anything (an empty Python loop iteration alone is {fmt_ns(agg['python']['loop_floor']['median_ns'])}), "
        f"so the binding's share is {fmt_share(cheap['python_share'])} (Python) and "
        f"{fmt_share(cheap['node_share'])} (Node): a ≤ 5 % share cannot be met by any binding for a call "
        f"this cheap. The absolute cost is what matters: {fmt_ns(cheap['python_ns'])} per call from Python, "
        f"{fmt_ns(cheap['node_ns'])} from Node."
    )
    lst = rows["state/state"]
    hop, gil = b["python_runtime_hop_ns"], b["python_gil_object_ns"]
    r_state = agg["rust"]["state"]["cpu_ns"] or 0
    noise = 0.05 * r_state

    def small(v: float | None) -> str:
        if v is None:
            return "—"
        return f"within the noise ({fmt_ns(v)})" if abs(v) < noise else fmt_ns(v)

    if lst["python_share_cpu"] is not None and lst["python_share_cpu"] > TARGET and hop and gil is not None and hop > gil:
        extra_sw = agg["rust"]["state_py_path"]["ctx_switches"] - agg["rust"]["state"]["ctx_switches"]
        out.append(
            f"- **`state()` from Python** ({fmt_share(lst['python_share'])} of the wall time, "
            f"{fmt_share(lst['python_share_cpu'])} of the CPU time): converting the result is not what costs "
            "(one lazy `State` object). Most of the cost is how `runtime::block_on` runs the future: it "
            "spawns it as a task and blocks on its `JoinHandle`, so every call wakes a worker and then the "
            f"caller ({extra_sw:.1f} more context switches per call than `block_on(cluster.state())`); in "
            f"Rust alone that path (`state_py_path`) costs {fmt_ns(hop)} more CPU per call. The rest, Python "
            f"`state` − `state_py_path` = {small(gil)}, is the GIL released and retaken around that wait, the "
            "`State` object and the Python call. Polling the future on the calling thread instead "
            "(`state_polled`) costs what `block_on(cluster.state())` does (`state_polled` − `state`: "
            f"{small(b['rust_polled_vs_block_on_ns'])}; {agg['rust']['state_polled']['ctx_switches']:.1f} "
            "context switches per call)."
        )
    elif lst["python_share"] is not None:
        out.append(
            f"- **`state()` from Python**: the binding's share is {fmt_share(lst['python_share'])} of the wall "
            f"time, {fmt_share(lst['python_share_cpu'])} of the CPU time; the GIL, the `State` object and the "
            f"call are {small(gil)}, the runtime hop {small(hop)}."
        )
    lbs = rows["state/state_lbs"]
    out.append(
        f"- **All 50 LBs as Python objects** (`state().lbs`): {fmt_ns(b['python_lbs_objects_ns'])} more than "
        f"`state()`: each `LbRecord` object wraps a clone of the core record (a dozen strings and its "
        f"backends). Share {fmt_share(lbs['python_share'])}."
    )
    node = rows["state/state"]
    out.append(
        f"- **`state()` from Node** ({fmt_share(node['node_share'])}): dominated by building the result as "
        f"plain JS objects ({fmt_ns(b['node_conversion_ns'])} of CPU per call: about 2,000 "
        "`napi_set_named_property` calls, each making its key string anew, plus the strings and arrays), then "
        f"by the second spawn in `promise_with` ({fmt_ns(b['node_runtime_hop_ns'])} for both spawns). "
        f"Even `JSON.parse` of the same objects' JSON ({agg['node']['json_parse'].get('bytes', 0):,} bytes) "
        f"takes {fmt_ns(agg['node']['json_parse']['median_ns'])} in V8 "
        f"({fmt_share(agg['node']['json_parse']['median_ns'] / node['rust_ns'] if node['rust_ns'] else None)} "
        "of Rust's whole call), so no eager conversion of the whole state reaches 5 %; only a lazy result "
        "(a class whose getters convert on access, like the Python binding's `State`) could."
    )
    out.append("")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quiet")
    q.add_argument("threshold", type=float)
    q.add_argument("max_wait", type=float)
    r = sub.add_parser("report")
    r.add_argument("--rounds", required=True)
    r.add_argument("--setup", required=True)
    r.add_argument("--meta", required=True)
    r.add_argument("--md", required=True)
    r.add_argument("--json", required=True)
    a = ap.parse_args()
    if a.cmd == "quiet":
        return quiet(a.threshold, a.max_wait)
    return report(a)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
