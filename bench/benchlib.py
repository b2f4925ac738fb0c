"""Helpers every bench/*/run.py may share: logging, running a command, percentiles, the lab check,
and a copy of the lab inventory with a state of its own."""
import os, subprocess, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def logger(tag):
    """A `log(msg)` that prints `[tag HH:MM:SS] msg` at once."""
    return lambda msg: print(f"[{tag} {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(args, check=True, **kw):
    """Runs `args` capturing text; a failure (with check) ends the bench naming the command."""
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed ({r.returncode}): {r.stderr.strip()[-800:]}")
    return r


def pct(xs, p):
    """The p-th percentile (nearest rank) of xs."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def require_lab():
    """The lab's inventory; ends the bench when the lab is not up."""
    inv = ROOT / "tests/lab/out/flockport.toml"
    ns = " " + run(["ip", "netns", "list"]).stdout.replace("\n", " ") + " "
    if not inv.exists() or any(f" {s} " not in ns for s in ("s1", "s2", "s3")):
        raise SystemExit("the lab is not up: tests/lab/lab up")
    return inv


def lab_copy(work):
    """A fresh `work` directory holding a copy of the lab inventory (its own state); its path."""
    import shutil
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    inv = work / "flockport.toml"
    text = require_lab().read_text()
    inv.write_text("".join(l + "\n" for l in text.splitlines() if not l.startswith("state")))
    os.chmod(inv, 0o600)
    return inv
