"""Shared fixtures: temporary inventories, local LXC, and the lab.

Lab tests need the test lab (``tests/lab/lab up``): its inventory
``tests/lab/out/flockport.toml``, the namespaces s1 s2 s3, and the lab
addresses routed to ``lab0`` (so no packet can leave the machine). Without it
they skip with a message naming ``tests/lab/lab up``, unless
``FLOCKPORT_LAB=required``, where a missing lab fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import flockport

REPO = Path(__file__).resolve().parents[2]
# FLOCKPORT_LAB_INVENTORY overrides the lab's inventory (to exercise the skip path).
LAB_INVENTORY = Path(
    os.environ.get("FLOCKPORT_LAB_INVENTORY") or REPO / "tests" / "lab" / "out" / "flockport.toml"
)


def lab_required() -> bool:
    return os.environ.get("FLOCKPORT_LAB") == "required"


def _skip_or_fail(why: str) -> None:
    if lab_required():
        pytest.fail(f"FLOCKPORT_LAB=required but {why}")
    pytest.skip(why)


def lab_missing() -> str | None:
    """Why the lab is not usable, or None when it is up."""
    if not LAB_INVENTORY.exists():
        return f"the lab is not up (no {LAB_INVENTORY}): run `tests/lab/lab up`"
    try:
        ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    except OSError as e:
        return f"cannot list network namespaces ({e}): run `tests/lab/lab up`"
    names = {line.split()[0] for line in ns.splitlines() if line.strip()}
    for s in ("s1", "s2", "s3"):
        if s not in names:
            return f"lab namespace {s} is missing: run `tests/lab/lab up`"
    for addr in ("192.168.122.11", "10.0.4.20", "10.0.5.20", "10.0.7.20"):
        route = subprocess.run(["ip", "route", "get", addr], capture_output=True, text=True).stdout
        if "dev lab0" not in route:
            return f"{addr} is not routed to lab0 ({route.strip()}): run `tests/lab/lab up`"
    return None


@pytest.fixture
def lab() -> flockport.Cluster:
    why = lab_missing()
    if why is not None:
        _skip_or_fail(why)
    return flockport.Cluster.open(LAB_INVENTORY)


@pytest.fixture
def lab_copy(lab: flockport.Cluster, tmp_path: Path) -> flockport.Cluster:
    """The lab's servers with a state of the test's own (a copy of the
    inventory without its `state` line)."""
    inv = tmp_path / "flockport.toml"
    inv.write_text("".join(l + "\n" for l in LAB_INVENTORY.read_text().splitlines() if not l.startswith("state")))
    return flockport.Cluster.open(inv)


def lxc_missing() -> str | None:
    if shutil.which("lxc-ls") is None:
        return "LXC is not installed (apt-get install lxc)"
    if not Path("/var/lib/lxc").is_dir():
        return "/var/lib/lxc does not exist (apt-get install lxc)"
    return None


@pytest.fixture
def local_lxc() -> None:
    why = lxc_missing()
    if why is not None:
        pytest.skip(why)


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """A path for a fresh (absent) inventory file."""
    return tmp_path / "flockport.toml"


@pytest.fixture
def cluster(inventory: Path) -> flockport.Cluster:
    """A cluster with an empty inventory in a temporary directory."""
    return flockport.Cluster.open(inventory)


def ghost_inventory(tmp_path: Path, template: str) -> Path:
    """A local server `g1` whose lxcpath is a temporary directory holding one
    container directory, `ghost`, that LXC cannot run: real commands on it
    fail harmlessly. Images are built with the `lxc-create` template
    `template` and no arguments."""
    lxcpath = tmp_path / "lxc"
    (lxcpath / "ghost").mkdir(parents=True, exist_ok=True)
    (lxcpath / "ghost" / "config").write_text(
        "lxc.uts.name = ghost\nlxc.net.0.ipv4.address = 10.0.99.5/24\n"
    )
    inv = tmp_path / f"ghost-{template}.toml"
    inv.write_text(
        "[[server]]\n"
        'name = "g1"\n'
        'transport = "local"\n'
        'subnet = "10.0.99.0/24"\n'
        f'lxcpath = "{lxcpath}"\n'
        "[server.image]\n"
        f'template = "{template}"\n'
        "args = []\n"
    )
    return inv


@pytest.fixture
def ghost(tmp_path: Path, local_lxc: None) -> flockport.Cluster:
    """See `ghost_inventory`; LXC's `none` template makes an empty image fast."""
    return flockport.Cluster.open(ghost_inventory(tmp_path, "none"))
