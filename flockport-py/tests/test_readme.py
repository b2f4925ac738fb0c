"""README's Python snippet runs as shown, against the lab."""

from __future__ import annotations

import re
import subprocess
import sys

import flockport
from conftest import REPO


def readme_snippet(lang: str) -> str:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)
    assert len(blocks) == 1, f"README should have exactly one ```{lang} block, has {len(blocks)}"
    return str(blocks[0])


def test_readme_python_snippet(lab: flockport.Cluster) -> None:
    before = lab.state()
    out = subprocess.run(
        [sys.executable, "-c", readme_snippet("python")], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for s in ("s1", "s2", "s3"):
        assert re.search(rf"^{s} reachable \d+$", out.stdout, re.M), out.stdout
    assert "refused: load balancer \"nope\" not found" in out.stdout, out.stdout
    assert "haproxy" in out.stdout
    # A dry run and a refused call: nothing changed.
    assert lab.state() == before
