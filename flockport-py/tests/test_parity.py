"""Parity by signature, derived from the core's declaration.

`flockport._api()` is flockport-core's declaration (`api::codegen::manifest`):
every generated operation with its parameters, every record with its fields,
and the members written by hand. Each must exist in Python under the same
name, with the same parameters (positional / keyword-only, optional or not),
at run time (the methods' signatures) and in flockport.pyi; every public
method of the core's `impl Cluster` blocks must be declared.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from typing import Any

import flockport
from conftest import REPO

CORE_SRC = REPO / "flockport-core" / "src"
API: dict[str, Any] = json.loads(flockport._api())
STUB = ast.parse((REPO / "flockport-py" / "flockport.pyi").read_text())


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


def core_methods() -> set[str]:
    """`pub fn` / `pub async fn` names of the core's `impl Cluster` blocks."""
    names: set[str] = set()
    for path in sorted(CORE_SRC.rglob("*.rs")):
        if path.name.endswith("tests.rs"):
            continue
        for body in impl_cluster_blocks(path.read_text()):
            names.update(m.group(2) for m in re.finditer(r"^\s*pub\s+(async\s+)?fn\s+(\w+)", body, re.M))
    return names


def expected(op: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(name, kind, optional) of each parameter the declaration gives `op`."""
    out = [(p["name"], "kw" if p["keyword"] else "pos", p["optional"]) for p in op["params"]]
    if op["dry_run"]:
        out.append(("dry_run", "kw", True))
    if op["progress"]:
        out.append(("progress", "kw", True))
    return out


def runtime_params(fn: Any) -> list[tuple[str, str, bool]]:
    sig = inspect.signature(fn)
    kinds: dict[inspect._ParameterKind, str] = {
        inspect.Parameter.KEYWORD_ONLY: "kw",
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "pos",
    }
    return [
        (p.name, kinds.get(p.kind) or str(p.kind), p.default is not inspect.Parameter.empty)
        for p in sig.parameters.values()
        if p.name != "self"
    ]


def stub_class(name: str) -> ast.ClassDef:
    for node in STUB.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise AssertionError(f"flockport.pyi has no class {name}")


def stub_params(fn: ast.FunctionDef) -> list[tuple[str, str, bool]]:
    a = fn.args
    pos = [x for x in a.args if x.arg != "self"]
    first_default = len(pos) - len(a.defaults)
    out = [(x.arg, "pos", i >= first_default) for i, x in enumerate(pos)]
    out += [(x.arg, "kw", d is not None) for x, d in zip(a.kwonlyargs, a.kw_defaults)]
    return out


def stub_members(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}


def test_the_declaration_is_read() -> None:
    names = {op["name"] for op in API["operations"]}
    assert {"list_servers", "add_lb", "add_server"} <= names, names
    assert {r["name"] for r in API["records"]} >= {"LbRecord", "ServerConfig", "Applied", "State"}


def test_every_core_method_is_declared() -> None:
    declared = {op["name"] for op in API["operations"]} | set(API["facade"])
    assert core_methods() - declared == set(), "core Cluster methods neither declared nor hand-written"
    assert declared - core_methods() == set(), "declared operations the core's Cluster lacks"


def test_operations_have_the_declared_signature() -> None:
    stub = stub_members(stub_class("Cluster"))
    for op in API["operations"]:
        want = expected(op)
        for name in (op["name"], op["name"] + "_async"):
            fn = getattr(flockport.Cluster, name, None)
            assert callable(fn), f"flockport.Cluster lacks {name}"
            assert runtime_params(fn) == want, f"Cluster.{name} at run time"
            assert name in stub, f"flockport.pyi lacks Cluster.{name}"
            assert stub_params(stub[name]) == want, f"Cluster.{name} in flockport.pyi"


def test_records_have_the_declared_fields() -> None:
    for rec in API["records"]:
        cls = getattr(flockport, rec["name"], None)
        assert isinstance(cls, type), f"flockport lacks the class {rec['name']}"
        stub = stub_members(stub_class(rec["name"]))
        for f in rec["fields"]:
            member = f["py_method"] or f["name"]
            attr = inspect.getattr_static(cls, member, None)
            assert attr is not None, f"{rec['name']}.{member} missing at run time"
            assert isinstance(attr, property) == (f["py_method"] is None), f"{rec['name']}.{member}"
            assert member in stub, f"flockport.pyi lacks {rec['name']}.{member}"


def test_hand_written_members_exist() -> None:
    stub = stub_members(stub_class("Cluster"))
    for name in API["facade"]:
        assert callable(getattr(flockport.Cluster, name, None)), f"flockport.Cluster lacks {name}"
        assert name in stub, f"flockport.pyi lacks Cluster.{name}"
