"""Shared helpers for benchmarks: wall time, peak memory, and a ratio against a baseline
measured in the same run (never an absolute threshold: machines differ)."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Timing:
    seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Timing]:
    t = Timing()
    start = time.perf_counter()
    try:
        yield t
    finally:
        t.seconds = time.perf_counter() - start


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_isolated(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn`` in a forked child so its peak memory is measured on its own."""
    import multiprocessing as mp
    from queue import Empty

    ctx = mp.get_context("fork")
    queue: Any = ctx.Queue()

    def child() -> None:
        result = fn()
        queue.put((result, peak_rss_mb()))

    proc = ctx.Process(target=child)
    proc.start()
    while True:  # a child that dies (an exception, the OOM killer) must not hang the bench
        try:
            result, peak = queue.get(timeout=1.0)
            break
        except Empty:
            if not proc.is_alive():
                raise RuntimeError(f"benchmark child died (exit code {proc.exitcode})") from None
    proc.join()
    return result, peak


@dataclass
class Report:
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, **row: Any) -> None:
        self.rows.append(row)

    def print(self) -> None:
        if "--json" in sys.argv:
            print(json.dumps({"title": self.title, "rows": self.rows}, default=str))
            return
        print(f"\n== {self.title} ==")
        keys = list(dict.fromkeys(k for r in self.rows for k in r))
        widths = {k: max(len(k), *(len(_fmt(r.get(k))) for r in self.rows)) for k in keys}
        print("  ".join(k.ljust(widths[k]) for k in keys))
        for r in self.rows:
            print("  ".join(_fmt(r.get(k)).ljust(widths[k]) for k in keys))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.0f}"
    return "" if v is None else str(v)


PG_URL = os.environ.get("NURTURE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def new_pg_schema(prefix: str) -> tuple[str, str]:
    """``(url, schema)``: a new schema ``<prefix>_<random>`` on the test PostgreSQL and a URL
    whose search path is it (random, so two benches at once never drop each other's)."""
    from sqlalchemy import create_engine, text

    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    eng = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with eng.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        eng.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", schema


def drop_pg_schema(schema: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(PG_URL)
    try:
        with eng.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        eng.dispose()
