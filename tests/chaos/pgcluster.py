"""A private PostgreSQL cluster for tests that restart the server: the shared one on 5432
serves other test runs, so it is never restarted. ``initdb`` into a temporary folder, a
free port, the socket in that folder; as root the server runs as ``postgres`` (initdb
refuses root) in a folder that user owns."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    bin: Path
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        """The ``postgres`` database (for CREATE DATABASE)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def _ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        done = self._as_owner(
            "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w",
            *args,
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.folder / "log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl {' '.join(args)}: {done.stderr}{done.stdout}{log}")

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """``-m fast``: every session is cut off, as a server restarted for an upgrade."""
        self._ctl("-m", "fast", "restart")

    def stop(self) -> None:
        self._as_owner("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


def new_cluster() -> Cluster | None:
    """A running private cluster, or None where PostgreSQL's programs are not installed."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="nurture-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = Cluster(bin_dir, folder, _free_port())
    made = cluster._as_owner(
        "initdb", "-D", str(cluster.data), "-U", "postgres", "-A", "trust", "--no-sync",
        "-E", "UTF8", "--locale", "C",
    )  # fmt: skip
    if made.returncode != 0:
        raise RuntimeError(f"initdb failed: {made.stderr}{made.stdout}")
    cluster.start()
    return cluster


def remove(cluster: Cluster) -> None:
    cluster.stop()
    shutil.rmtree(cluster.folder, ignore_errors=True)
