"""Every public operation of the core's `Cluster` exists in Python."""

from __future__ import annotations

import re

import flockport
from conftest import REPO

CORE_SRC = REPO / "flockport-core" / "src"


def impl_cluster_blocks(text: str) -> list[str]:
    """The bodies of every `impl Cluster {` block in `text`."""
    blocks = []
    for m in re.finditer(r"^impl Cluster \{", text, re.M):
        depth = 0
        for i in range(m.end() - 1, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    blocks.append(text[m.end() : i])
                    break
    return blocks


def core_operations() -> dict[str, bool]:
    """`pub fn` / `pub async fn` names of `impl Cluster` (cluster.rs, and the
    blocks other core modules such as lb/ add), with whether each is async."""
    ops: dict[str, bool] = {}
    files = [CORE_SRC / "cluster.rs"] + sorted(
        p for p in CORE_SRC.rglob("*.rs") if p.name != "cluster.rs" and not p.name.endswith("tests.rs")
    )
    for path in files:
        for body in impl_cluster_blocks(path.read_text()):
            for m in re.finditer(r"^\s*pub\s+(async\s+)?fn\s+(\w+)", body, re.M):
                ops[m.group(2)] = bool(m.group(1))
    return ops


def pending() -> set[str]:
    """Core operations named in flockport-core/bindings-pending.txt: not bound yet."""
    text = (REPO / "flockport-core" / "bindings-pending.txt").read_text()
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


def test_pending_operations_are_core_operations_not_yet_bound() -> None:
    ops = core_operations()
    for name in pending():
        assert name in ops, f"bindings-pending.txt names {name}, which the core does not have"
        assert not hasattr(flockport.Cluster, name), f"{name} is bound now: remove it from bindings-pending.txt"


def test_core_has_operations() -> None:
    ops = core_operations()
    assert len(ops) >= 15, ops
    assert ops["list_servers"] is True and ops["add_server"] is False


def test_every_core_operation_is_bound() -> None:
    missing = []
    for name, is_async in core_operations().items():
        if name in pending():
            continue
        if not callable(getattr(flockport.Cluster, name, None)):
            missing.append(name)
        if is_async and not callable(getattr(flockport.Cluster, f"{name}_async", None)):
            missing.append(f"{name}_async")
    assert not missing, f"flockport.Cluster lacks core operations: {missing}"


def test_stub_mentions_every_operation() -> None:
    stub = (REPO / "flockport-py" / "flockport.pyi").read_text()
    for name in core_operations():
        if name in pending():
            continue
        assert re.search(rf"def {name}\(", stub), f"flockport.pyi lacks {name}"
