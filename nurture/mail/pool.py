"""Render worker processes that claim, render and build messages beside the sender.

Requests are length-prefixed pickles over a pipe to the worker, answers come back in order on
another, so several requests can be in flight. A request is either jobs to prepare or, with a
:class:`~nurture.mail.factory.ClaimSetup`, "claim up to n rows and prepare them": then
claiming, loading leads, rendering and MIME building all happen outside the sender's
process, which only talks SMTP and keeps the books. If a worker dies, pending and later
requests raise :class:`RenderPoolError` and the sender claims and prepares by itself again.

Workers are **forked** when that is safe: the process has one thread and the sender's engine
has no connection open (a child must never inherit an SQLite handle or a PostgreSQL socket
in use). A forked worker shares the sender's loaded modules and compiled templates and is
ready in milliseconds; otherwise (a Prefect task thread, a test's SMTP server thread, not
Linux) it is spawned as ``python -m nurture.mail.render_worker``, which imports the renderer
before its first message (so the sender starts a spawned pool only for big sends).
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Protocol

from nurture.mail.factory import ClaimSetup, FactoryConfig, MessageFactory, Ready

if TYPE_CHECKING:
    from nurture.mail.jobs import Job
    from nurture.mail.outbox import Outcome

__all__ = ["RenderPool", "RenderPoolError", "can_fork"]

#: An answer holds a whole batch of built messages: read it without pausing the pipe at
#: asyncio's default buffer limit.
_PIPE_LIMIT = 1 << 22


class RenderPoolError(RuntimeError):
    """A render worker process stopped."""


def can_fork() -> bool:
    """Whether forking a worker is safe here: Linux, and this is the only thread (a lock held
    by another thread at the moment of the fork would stay locked forever in the child)."""
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and threading.current_thread() is threading.main_thread()
    )


class RenderPool:
    """``workers`` render processes; see the module docstring."""

    def __init__(
        self,
        config: FactoryConfig,
        workers: int,
        claims: ClaimSetup | None = None,
        *,
        factory: MessageFactory | None = None,
    ) -> None:
        self.config = config
        self.size = max(1, workers)
        self.claims = claims
        self.factory = factory
        self._workers: list[_Worker] = []
        self._forked: list[tuple[BaseProcess, int, int]] = []  # not connected yet
        self._next = 0
        self.ready = False
        self.method = "spawn"

    def fork(self) -> None:
        """Fork the workers now (synchronously: call it while :func:`can_fork` holds, before
        any thread or connection is opened)."""
        factory = self.factory or MessageFactory(self.config)
        inherited: list[int] = []  # our ends of earlier workers' pipes: children close them
        for _ in range(self.size):
            proc, read_fd, write_fd = _Worker.fork(factory, self.claims, inherited)
            inherited += [read_fd, write_fd]
            self._forked.append((proc, read_fd, write_fd))
        self.method = "fork"

    async def start(self) -> None:
        """Spawn the workers unless they were forked, and wait until each answers."""
        if self._forked:
            while self._forked:
                self._workers.append(await _Worker.connect(*self._forked[0]))
                del self._forked[0]
        else:
            self._workers = [
                await _Worker.spawn((self.config, self.claims)) for _ in range(self.size)
            ]
        await asyncio.gather(*(w.call([]) for w in self._workers))
        self.ready = True

    def _pick(self) -> _Worker:
        worker = self._workers[self._next % len(self._workers)]
        self._next += 1
        return worker

    async def prepare(self, jobs: list[Job]) -> list[Ready]:
        """The jobs' messages, in order."""
        result: list[Ready] = await self._pick().call(jobs)
        return result

    async def claim(self, limit: int, now: datetime, outcomes: Sequence[Outcome]) -> list[Ready]:
        """Record ``outcomes`` of the sender's rows, then claim up to ``limit`` due rows (as of
        ``now``) in the sender's name and prepare them."""
        request = ("claim", limit, now, outcomes)
        result: list[Ready] = await self._pick().call(request)
        return result

    async def close(self) -> None:
        for _, read_fd, write_fd in self._forked:  # forked, never started: EOF ends them
            os.close(read_fd)
            os.close(write_fd)
        await asyncio.gather(
            *(w.close() for w in self._workers),
            *(_wait_forked(proc) for proc, _, _ in self._forked),
        )
        self._forked.clear()


def _frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(8, "big") + data


class _Process(Protocol):
    def kill(self) -> None: ...


async def _wait_forked(proc: BaseProcess, timeout: float = 10.0) -> int | None:
    """Wait for a forked worker to exit (it does at end of input); kill it after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while proc.is_alive():
        if loop.time() > deadline:
            proc.kill()
            proc.join()
            break
        await asyncio.sleep(0.005)
    return proc.exitcode


def _forked_main(
    read_fd: int, write_fd: int, close_fds: list[int], factory: MessageFactory, setup: Any
) -> None:
    """The forked child: serve the sender over its two pipe ends, then exit."""
    from nurture.mail.render_worker import claimer_for, serve

    for fd in close_fds:  # the sender's ends: EOF must reach each worker when it closes them
        os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # not the event loop's handler
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with os.fdopen(read_fd, "rb") as stdin, os.fdopen(write_fd, "wb") as stdout:
        serve(stdin, stdout, factory, claimer_for(setup))


class _Worker:
    def __init__(
        self,
        proc: _Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        wait: Callable[[], Any],
    ) -> None:
        self.proc = proc
        self.stdin = writer
        self.stdout = reader
        self._wait = wait
        self.pending: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def spawn(cls, config: tuple[FactoryConfig, ClaimSetup | None]) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "nurture.mail.render_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_PIPE_LIMIT,
        )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(_frame(config))
        return cls(proc, proc.stdout, proc.stdin, proc.wait)

    @classmethod
    def fork(
        cls, factory: MessageFactory, setup: ClaimSetup | None, inherited: list[int]
    ) -> tuple[BaseProcess, int, int]:
        """Fork a worker; returns the process and our ends of its pipes (read, write)."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        proc = multiprocessing.get_context("fork").Process(
            target=_forked_main,
            args=(to_child_r, from_child_w, [*inherited, to_child_w, from_child_r], factory, setup),
            name="nurture-render",
            daemon=True,
        )
        try:
            proc.start()
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        return proc, from_child_r, to_child_w

    @classmethod
    async def connect(cls, proc: BaseProcess, read_fd: int, write_fd: int) -> _Worker:
        """Streams over the pipes of a forked worker."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_PIPE_LIMIT, loop=loop)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
            os.fdopen(read_fd, "rb", buffering=0),
        )
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop), loop=loop),
            os.fdopen(write_fd, "wb", buffering=0),
        )
        writer = asyncio.StreamWriter(transport, protocol, None, loop)

        return cls(proc, reader, writer, lambda: _wait_forked(proc, timeout=float("inf")))

    async def _read(self) -> None:
        try:
            while True:
                size = int.from_bytes(await self.stdout.readexactly(8), "big")
                answer = pickle.loads(await self.stdout.readexactly(size))
                waiter = self.pending.popleft()
                if not waiter.done():  # its caller may have been cancelled
                    waiter.set_result(answer)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            while self.pending:
                waiter = self.pending.popleft()
                if not waiter.done():
                    waiter.set_exception(RenderPoolError(f"render worker: {exc}"))

    async def call(self, request: Any) -> Any:
        if self.reader.done():
            raise RenderPoolError("render worker stopped")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        try:
            self.stdin.write(_frame(request))
            await self.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:  # the pipe closed under us
            raise RenderPoolError(f"render worker: {exc}") from exc
        return await future

    async def close(self) -> None:
        self.stdin.close()
        try:
            await asyncio.wait_for(self._wait(), timeout=10)
        except TimeoutError:
            self.proc.kill()
            await self._wait()
        self.reader.cancel()
