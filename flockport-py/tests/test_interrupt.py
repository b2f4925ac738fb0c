"""Interrupting a change from Python (lab): it stops starting steps, rolls
back what it did on the server, records nothing, raises
``flockport.Interrupted``, and the same call then succeeds."""

from __future__ import annotations

import asyncio
import _thread
import os
import time

from collections.abc import Iterator

import pytest

import flockport


def _names(c: flockport.Cluster, server: str) -> set[str]:
    return {i.name for i in c.containers(server)}


@pytest.fixture
def lb_name(lab: flockport.Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A name for a test LB on the lab; removed afterwards if the test left it."""
    name = f"py{request.node.name[-6:]}{os.getpid() % 10000}".replace("_", "")
    yield name
    if name in lab.state().lbs:
        lab.del_lb(name)


def test_interrupt_with_no_change_running_leaves_nothing_pending(ghost: flockport.Cluster) -> None:
    assert flockport.interrupt() is False
    # The next change is not interrupted by it.
    assert ghost.build_image("g1", []).executed is True


def test_lab_interrupt_rolls_back_and_a_retry_succeeds(lab: flockport.Cluster, lb_name: str) -> None:
    name = lb_name

    def progress(index: int, total: int, step: flockport.Step) -> None:
        if "create container" in step.description:
            flockport.interrupt()

    with pytest.raises(flockport.Interrupted, match="run it again") as info:
        lab.add_lb("haproxy", "s3", name=name, progress=progress)
    assert info.value.kind == "Interrupted"
    assert name not in lab.state().lbs
    assert name not in _names(lab, "s3"), "the container was rolled back"
    applied = lab.add_lb("haproxy", "s3", name=name)
    assert applied.executed and name in lab.state().lbs
    lab.del_lb(name)
    assert name not in lab.state().lbs


def test_lab_ctrl_c_during_a_blocking_call_rolls_back(lab: flockport.Cluster, lb_name: str) -> None:
    name = lb_name
    sent: list[str] = []

    def progress(index: int, total: int, step: flockport.Step) -> None:
        if "create container" in step.description and not sent:
            sent.append(step.description)
            # What Ctrl-C does: SIGINT to the main thread, here while this
            # callback runs on it (the KeyboardInterrupt surfaces in it).
            _thread.interrupt_main()
            time.sleep(1)

    with pytest.raises(flockport.Interrupted):
        lab.add_lb("haproxy", "s3", name=name, progress=progress)
    assert sent
    assert name not in lab.state().lbs
    assert name not in _names(lab, "s3")


def test_lab_interrupting_an_async_change(lab: flockport.Cluster, lb_name: str) -> None:
    name = lb_name

    def progress(index: int, total: int, step: flockport.Step) -> None:
        if "create container" in step.description:
            flockport.interrupt()

    async def run() -> None:
        with pytest.raises(flockport.Interrupted):
            await lab.add_lb_async("haproxy", "s3", name=name, progress=progress)

    asyncio.run(run())
    assert name not in lab.state().lbs
    assert name not in _names(lab, "s3")
