"""The asyncio forms, and the blocking forms from several threads."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import flockport


def test_async_operations(cluster: flockport.Cluster) -> None:
    async def main() -> None:
        s = await cluster.add_server_async("s1", subnet="10.0.4.0/24", local=True)
        assert isinstance(s, flockport.ServerConfig) and s.transport == "local"
        await cluster.add_server_async("dead", subnet="10.0.8.0/24", host="127.0.0.1", port=1)
        statuses = await cluster.list_servers_async()
        assert [x.name for x in statuses] == ["s1", "dead"]
        assert statuses[1].reachable is False
        st = await cluster.state_async()
        assert st.containers == {}
        with pytest.raises(flockport.Unreachable) as info:
            await cluster.probe_async("dead")
        assert info.value.causes
        with pytest.raises(flockport.NotFound, match="nope"):
            await cluster.containers_async("nope")
        with pytest.raises(flockport.AlreadyExists):
            await cluster.add_server_async("s1", subnet="10.0.9.0/24", local=True)
        with pytest.raises(flockport.InvalidInput, match="10.0.0.0/99"):
            await cluster.add_server_async("s2", subnet="10.0.0.0/99", local=True)
        results = await cluster.probe_all_async(["dead"])
        assert len(results) == 1 and not results[0].ok
        assert isinstance(results[0].error, flockport.Unreachable)
        await cluster.del_server_async("dead")
        assert [x.name for x in cluster.servers()] == ["s1"]

    asyncio.run(main())


def test_async_runs_concurrently(cluster: flockport.Cluster) -> None:
    for i in range(4):
        cluster.add_server(f"d{i}", subnet=f"10.0.{10 + i}.0/24", host="127.0.0.1", port=1)

    async def main() -> list[list[flockport.ServerStatus]]:
        return await asyncio.gather(*(cluster.list_servers_async() for _ in range(8)))

    results = asyncio.run(main())
    assert len(results) == 8
    assert all(len(r) == 4 and not any(s.reachable for s in r) for r in results)


def test_async_ghost_operations(ghost: flockport.Cluster) -> None:
    async def main() -> None:
        facts, containers, located = await asyncio.gather(
            ghost.probe_async("g1"), ghost.containers_async(), ghost.locate_async("ghost")
        )
        assert [c.name for c in facts.containers] == ["ghost"]
        assert containers == facts.containers
        assert located[0].name == "g1" and located[1].name == "ghost"
        out = await ghost.exec_async("ghost", ["true"])
        assert out.status != 0
        with pytest.raises(flockport.RemoteCommandFailed):
            await ghost.push_async("ghost", "/tmp/x", "")
        plan = await ghost.add_container_async("g1", "web1", dry_run=True)
        assert plan.executed is False
        img = await ghost.build_image_async("g1", ["curl"], dry_run=True)
        assert isinstance(img.record, str)
        t = ghost.transport("g1")
        o = await t.exec_async(["echo", "hi"])
        assert o.stdout == b"hi\n"
        with pytest.raises(flockport.NotFound):
            await ghost.set_running_async("nosuch", True, dry_run=True)
        with pytest.raises(flockport.NotFound):
            await ghost.del_container_async("nosuch")

    asyncio.run(main())


def test_async_needs_a_running_loop(cluster: flockport.Cluster) -> None:
    with pytest.raises(RuntimeError):
        cluster.list_servers_async()


def test_cancelled_await(cluster: flockport.Cluster, tmp_path: Path) -> None:
    cluster.add_server("local", subnet="10.0.3.0/24", local=True)
    t = cluster.transport("local")
    marker = tmp_path / "done"

    async def main() -> None:
        task = asyncio.ensure_future(t.exec_async(["sh", "-c", f"sleep 5; touch {marker}"]))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The loop is still usable.
        assert (await t.exec_async(["echo", "ok"])).stdout == b"ok\n"

    asyncio.run(main())
    assert not marker.exists()


def test_blocking_calls_release_the_gil(cluster: flockport.Cluster) -> None:
    cluster.add_server("local", subnet="10.0.3.0/24", local=True)
    t = cluster.transport("local")
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = ticks
        t.exec(["sleep", "0.5"])
        during = ticks - before
    finally:
        stop.set()
        counter.join()
    # With the GIL held for 0.5 s, the counter thread could not have run.
    assert during > 1000, during


def test_blocking_from_threads(cluster: flockport.Cluster) -> None:
    for i in range(3):
        cluster.add_server(f"d{i}", subnet=f"10.0.{20 + i}.0/24", host="127.0.0.1", port=1)
    errors: list[BaseException] = []
    counts: list[int] = []

    def work() -> None:
        try:
            counts.append(len(cluster.list_servers()))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and counts == [3] * 6


def test_ctrl_c_cancels_a_blocking_call(cluster: flockport.Cluster, tmp_path: Path) -> None:
    import _thread
    import time

    cluster.add_server("local", subnet="10.0.3.0/24", local=True)
    t = cluster.transport("local")
    marker = tmp_path / "done"
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        t.exec(["sh", "-c", f"sleep 1.5; touch {marker}"])
    assert time.monotonic() - started < 1.2
    time.sleep(1.6)
    assert not marker.exists(), "the command was not stopped"


def test_blocking_call_inside_progress_callback_is_refused(ghost: flockport.Cluster) -> None:
    errors: list[BaseException] = []
    read: list[flockport.State] = []

    def progress(i: int, total: int, step: flockport.Step) -> None:
        ghost.servers()  # not blocking: fine
        read.append(ghost.state())  # a local file read on this thread: fine
        try:
            ghost.list_servers()  # runs on the runtime: refused
        except RuntimeError as e:
            errors.append(e)

    ghost.build_image("g1", [], progress=progress)
    assert read and all(isinstance(s, flockport.State) for s in read)
    assert errors and "async" in str(errors[0])
