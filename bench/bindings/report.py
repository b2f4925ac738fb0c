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
    ("cheap, reaches a server: `list_servers()` (`listservers`: one probe of s1)", "`list_servers`",
     "list_servers", "list_servers", "list_servers"),
    ("list, the `listlbs` verb: `lbs()` over the 50 LBs (a health check in each one's container)", "`lbs`",
     "lbs", "lbs", "lbs"),
    ("list, blocking: Rust `state_blocking()`, Python `state()`, Node `stateBlocking()`", "`state` blocking",
     "state_blocking", "state", "state_blocking"),
    ("list, async: Rust `block_on(state())`, Python `await state_async()`, Node `await state()`",
     "`state` async", "state", "state_async", "state"),
    ("list, all 50 LBs converted: Python `state().lbs`, Node `stateBlocking().lbs`", "`state().lbs`",
     "state_blocking", "state_lbs", "state_lbs"),
    ("no I/O: the accessor `server(\"s1\")` (a 4 ns borrow in Rust)", "`server`", "server", "server", "server"),
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
        "rust_hop_ns": d(c("rust", "state"), c("rust", "state_blocking")),
        "python_lbs_objects_ns": d(c("python", "state_lbs"), c("python", "state")),
        "python_async_extra_ns": d(c("python", "state_async"), c("python", "state")),
        "node_async_extra_ns": d(c("node", "state"), c("node", "state_blocking")),
        "node_lbs_objects_ns": d(c("node", "state_lbs"), c("node", "state_blocking")),
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
        f"timed batch of {opts.get('op_iters', '?')} (`list_servers`), {opts.get('list_iters', '?')} (`lbs`), "
        f"{opts['iters']} (`state`) or "
        f"{opts['cheap_iters']} (`server`) calls, the calls "
        "taking turns. A sample is a batch's wall time divided by its calls; the first table's cells are "
        "the **median over all batches of all rounds, ns per call**.",
        "",
        f"The cluster: an inventory with one server `s1` on the local transport and a state file of "
        f"{setup['lbs']} load balancers (30 HAProxy, 20 Nginx; {setup['backends']} backends, published "
        f"ports, some with TLS, workers, resolvers) and their {setup['containers']} container records: "
        f"{setup['state_bytes']:,} bytes of JSON, mode 0600, a serialised core `State` written by "
        "`flockport-bench-bindings setup`. `list_servers()` runs flockport's probe script on s1 (a local "
        "process: no network); `lbs()` runs each LB's health check in its container with `lxc-attach` (50 at "
        "once; on the bench host the containers do not exist, so each check fails at once and reports the health "
        "`unknown`: the call is shorter than on a real cluster, the bindings' share larger); `state()` reads "
        "and parses the state file on every call; `server()` searches the inventory loaded at open.",
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
        "wall time (the host's drift it does not remove), and context switches per call. Node's CPU includes "
        "V8's own helper threads (garbage collection, set going by the untimed collection before each batch), "
        "which run while a call that reaches a server waits for its child processes: compare Node's calls "
        "that reach a server by wall time.",
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
        "- **Rust**: `list_servers`, `lbs`: `rt.block_on(cluster.list_servers())`, `rt.block_on(cluster.lbs())` "
        "from the main thread, on a "
        "multi-thread tokio runtime built as flockport-py builds its own (`new_multi_thread().enable_all()`, "
        "one worker per CPU; napi-rs's default runtime is the same). `state`: `rt.block_on(cluster.state())`, "
        "the file read on tokio's blocking pool (one hop there and back) and parsed with serde_json. "
        "`state_blocking`: `cluster.state_blocking()`, the same read and parse on the calling thread. "
        "`server`: the `&ServerConfig` a Rust caller borrows.",
        "- **Python** (module `flockport`, PyO3, from `flockport-py/.venv`): `list_servers()` and `lbs()` block "
        "on the core future with the GIL released, polling it on the calling thread, and return `ServerStatus` "
        "/ `LbInfo` objects. `state()`: the core's `state_blocking()` with the GIL released; the result is one `State` "
        "object around the core `State` (its getters convert on access). `state().lbs` adds the dict of 50 "
        "`LbRecord` objects. `await state_async()`: one asyncio loop; `state_blocking()` runs on the runtime's "
        "blocking pool, which then takes the GIL and hands the result to the loop with `call_soon_threadsafe`. "
        "`server`: a "
        "`ServerConfig` object around a clone of the core record.",
        "- **Node** (flockport-node, napi-rs): `await listServers()`, `await lbs()`: the future runs as one "
        "tokio task, the Promise resolves on the JS thread with plain objects. `await state()`: the core's `state_blocking()` "
        "on libuv's thread pool (a napi `AsyncTask`, as Node's `fs` reads files), resolving to a `State` "
        "class whose getters convert on access. `stateBlocking()`: the same on the JS thread. "
        "`stateBlocking().lbs`: adds the 50 `LbRecord` plain objects, their backends and strings, all built "
        "at once (JSON from serde_json, parsed by V8's `JSON.parse`). `server`: a plain object, every field converted at once.",
        "- Each binding figure includes the language's own loop (an empty loop body costs "
        f"{fmt_ns(agg['python']['loop_floor']['median_ns'])} per iteration in Python, "
        f"{fmt_ns(agg['node']['loop_floor']['median_ns'])} in Node) and the freeing of the result.",
        "",
        "## Where the time goes",
        "",
        "In CPU time per call (differences of medians from different processes: approximate; a difference "
        "within the noise can come out slightly negative):",
        "",
        f"- The hop to a pool thread and back, in Rust (`state` − `state_blocking`): {fmt_ns(b['rust_hop_ns'])}.",
        f"- Node's `await state()` over `stateBlocking()`: {fmt_ns(b['node_async_extra_ns'])} (libuv's pool, "
        "its completion through the event loop, the Promise and the `await`).",
        f"- Python's `await state_async()` over `state()`: {fmt_ns(b['python_async_extra_ns'])} (the blocking "
        "pool, the GIL taken there, `call_soon_threadsafe`, the loop's wake-up and callbacks). For scale, "
        "Python's own way to await a blocking call, `await loop.run_in_executor(pool, cluster.state)`, "
        f"takes {fmt_ns(agg['python'].get('state_executor', {}).get('median_ns'))} wall, "
        f"{fmt_ns(cpu('python', 'state_executor'))} CPU, against {fmt_ns(agg['python']['state_async']['median_ns'])} "
        f"wall, {fmt_ns(cpu('python', 'state_async'))} CPU for `state_async()`.",
        f"- Converting all 50 LBs: Python's dict of `LbRecord` objects {fmt_ns(b['python_lbs_objects_ns'])}; "
        f"Node's plain objects {fmt_ns(b['node_lbs_objects_ns'])} (the records' JSON written by serde_json, "
        "then V8's `JSON.parse`, faster than setting about 2,000 properties one N-API call at a time).",
        f"- `server` from Python ({fmt_ns(cpu('python', 'server'))}): the owned clone "
        f"({fmt_ns(cpu('rust', 'server_cloned'))} in Rust), the loop, and {fmt_ns(b['python_server_rest_ns'])} "
        "of binding (method call, argument, the fork check, the object). From Node "
        f"({fmt_ns(cpu('node', 'server'))}): {fmt_ns(b['node_server_rest_ns'])} of binding, nearly all of it "
        "building the returned object one N-API property at a time.",
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
    agg = doc["aggregate"]
    rows = {r["short"]: r for r in doc["rows"]}

    def both(r: dict[str, Any]) -> str:
        return f"Python {fmt_share(r['python_share'])}, Node {fmt_share(r['node_share'])}"

    out = ["## Reading the results", ""]
    r = rows["`list_servers`"]
    out.append(
        f"- **Cheap call** (`list_servers`, {fmt_ns(r['rust_ns'])} from Rust): binding share {both(r)}. "
        "Whatever a binding adds is microseconds; a call that reaches a server costs milliseconds."
    )
    r = rows["`lbs`"]
    out.append(
        f"- **List call, the verb** (`lbs()`, `listlbs`, over the 50 LBs, {fmt_ns(r['rust_ns'])} from Rust): "
        f"{both(r)}. Node builds all 50 `LbInfo` results (records and health) as plain objects at once; "
        "Python returns 50 `LbInfo` objects whose getters convert on access."
    )
    r = rows["`state` blocking"]
    out.append(
        f"- **List call, blocking** (`state` over 50 LBs, {fmt_ns(r['rust_ns'])} from Rust): {both(r)}. The "
        "result is one object around the core's `State`; the caller converts what it reads."
    )
    r = rows["`state` async"]
    ex = agg["python"].get("state_executor", {}).get("median_ns")
    pa = agg["python"]["state_async"]["median_ns"]
    if ex is None:
        versus = ""
    elif pa <= ex * 1.05:
        versus = (f" Python's own `run_in_executor` of the blocking `state()` takes {fmt_ns(ex)} against "
                  f"{fmt_ns(pa)} for `state_async()`: the binding's async path costs what asyncio's own does.")
    else:
        versus = (f" Python's own `run_in_executor` of the blocking `state()` takes {fmt_ns(ex)}, "
                  f"`state_async()` {fmt_ns(pa)}: the binding's async path costs {fmt_ns(pa - ex)} more than "
                  "asyncio's own.")
    out.append(
        f"- **List call, async**: {both(r)}. Nothing is converted here either (the same one object); the "
        "excess is the trip through each language's event loop, which a Rust caller blocking on its "
        "runtime does not take." + versus
    )
    r = rows["`state().lbs`"]
    jp = agg["node"].get("json_parse", {})
    jp_share = jp.get("median_ns", 0) / r["rust_ns"] if r["rust_ns"] else None
    out.append(
        f"- **Every LB converted after the local read**: {both(r)}: not within 5 % of a call this short "
        f"(a {fmt_ns(r['rust_ns'])} file read). V8's own `JSON.parse` of the same 50 records "
        f"({jp.get('bytes', 0):,} bytes) takes "
        f"{fmt_ns(jp.get('median_ns'))}, {fmt_share(jp_share)} of Rust's whole call, so building these "
        "objects eagerly costs about as much as reading and parsing the file. That is why `State` converts "
        "on access: a caller pays for the records it reads."
    )
    r = rows["`server`"]
    out.append(
        f"- **No-I/O accessor**: {fmt_ns(r['rust_ns'])} from Rust is a borrow; any call from another "
        f"language costs more before it does anything (an empty Python loop iteration is "
        f"{fmt_ns(agg['python']['loop_floor']['median_ns'])}), so its share ({both(r)}) says nothing; the "
        f"absolute cost is {fmt_ns(r['python_ns'])} per call from Python, {fmt_ns(r['node_ns'])} from Node."
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
