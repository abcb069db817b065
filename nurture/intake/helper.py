"""Reading and normalising beside the writes: the helper process, and the memory regime.

For a big file (:func:`wants_helper`) a forked helper reads and normalises the file while
the importer writes to the database: two stages on two cores. Chunks cross a pipe in the
wire format of :mod:`nurture.intake.wire`. The helper blocks on the pipe while the importer
is busy, so at most the chunk in the pipe and the one being normalised wait between them
and memory stays bounded. Its first chunk is small and the next ones grow by half up to the
chunk size: the importer waits for the first with nothing else to do.

An error in the helper (an :class:`~nurture.errors.InputError` with its file and row) is
raised again by the importer; a helper that dies fails the import with its exit code; the
helper holds no reader end of the pipe, so once the importer stops (early, or killed) its
next send fails and it exits.

:func:`young_gc_only`: a chunk allocates hundreds of thousands of short-lived objects,
nearly all freed by reference counting, and the automatic collector would keep re-scanning
the long-lived heap (caches, SQLAlchemy) because of them. While a file is imported the
collector is off and the young generations are collected after each chunk.
"""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from nurture.intake.prepare import Chunk, chunked
from nurture.intake.reading import Table
from nurture.intake.wire import from_wire, to_wire

PARALLEL_FROM_BYTES = 4_000_000  # XLSX: a quarter of that (it is compressed)
FIRST_CHUNK = 500

Prepare = Callable[[list[tuple[int, list[str]]]], Chunk]


def wants_helper(path: Path, table: Table) -> bool:
    """Whether ``path`` is big enough for the helper process (and there are two cores)."""
    big = PARALLEL_FROM_BYTES // (4 if table.format == "xlsx" else 1)
    return path.stat().st_size > big and os.cpu_count() != 1


@contextmanager
def young_gc_only() -> Iterator[None]:
    """Automatic garbage collection off; the caller collects young generations by hand."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def normalised_chunks(
    table: Table, chunk_size: int, prepare: Prepare, *, helper: bool
) -> Generator[Chunk, None, None]:
    """Normalised chunks in file order, from a helper process when ``helper``."""
    if not helper:
        for numbered in chunked(table.rows(), chunk_size):
            yield prepare(numbered)
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)

    def run() -> None:
        reader.close()  # the importer's end: once it is gone, a send fails and we stop
        gc.disable()
        gone = (BrokenPipeError, ConnectionResetError)  # the importer is gone (killed)
        try:
            for numbered in chunked(table.rows(), chunk_size, first=FIRST_CHUNK):
                writer.send_bytes(b"c" + to_wire(prepare(numbered)))
                gc.collect(1)
            writer.send_bytes(b"x")
        except gone:
            return
        except Exception as exc:  # handed to the importer, which raises it
            state = (type(exc), exc.args, dict(vars(exc)))
            with suppress(*gone):
                writer.send_bytes(b"e" + pickle.dumps(state))

    proc = ctx.Process(target=run, name="nurture-intake-normalise", daemon=True)
    proc.start()
    writer.close()  # the helper's end: once the helper is gone, a receive ends
    try:
        while True:
            try:
                data = reader.recv_bytes()
            except EOFError:
                proc.join()
                raise RuntimeError(
                    f"the normalising helper process died (exit code {proc.exitcode})"
                ) from None
            kind, payload = data[:1], memoryview(data)[1:]
            if kind == b"x":
                return
            if kind == b"e":
                raise _rebuilt(payload)
            yield from_wire(payload)
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join()
        reader.close()


def _rebuilt(payload: memoryview) -> BaseException:
    cls, args, attrs = pickle.loads(payload)
    exc: Any = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(attrs)
    return exc  # type: ignore[no-any-return]
