"""Two ways to run ``nurture`` in a child process for the chaos driver.

:class:`ForkServer` (the default) keeps one Python process that has imported the CLI and the
modules its commands load (pandas, SQLAlchemy, the mail and cadence packages) and forks a
child per run; the child sets the run's environment, points stdout/stderr at files, calls
``nurture.cli.main`` and exits with its code. A run then costs its work, not two seconds of
imports, which is what lets CI afford the chaos test at all, and every kill lands in the
command's work rather than in the interpreter's start. The child is a real process: its
``kill -9`` is the kernel's, with the database, the WAL and the sockets exactly as they were.

:class:`Interpreter` starts a new interpreter per run (``--fresh-interpreter``): slower,
and closest to a deployment's cron job.

Nothing is connected, opened or started before a fork: the server only imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SERVER = r"""
import atexit, importlib, json, os, sys, traceback
from nurture.cli import COMMANDS, main
for name in sorted({e.module for e in COMMANDS.values() if e.module.startswith("nurture.")}):
    importlib.import_module(name)
for name in ("nurture.intake", "nurture.cadence", "nurture.mail", "nurture.mail.sender",
             "nurture.playbooks.escalation", "rich.progress"):
    importlib.import_module(name)
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    if "wait" in req:
        _, status = os.waitpid(req["wait"], 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)
        continue
    pid = os.fork()
    if pid:
        print(json.dumps({"pid": pid}), flush=True)
        continue
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, req["out"]), (2, req["err"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    os.environ.clear()
    os.environ.update(req["env"])
    sys.argv = req["argv"]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
"""


class ForkServer:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        if self._read().get("ready") is not True:
            raise RuntimeError("the chaos fork server did not start")

    def _read(self) -> dict[str, object]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the chaos fork server died (exit {self.proc.wait()})")
        answer: dict[str, object] = json.loads(line)
        return answer

    def _ask(self, req: dict[str, object]) -> dict[str, object]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def start(self, argv: list[str], env: dict[str, str], out: Path, err: Path) -> int:
        answer = self._ask({"argv": argv, "env": env, "out": str(out), "err": str(err)})
        return int(str(answer["pid"]))

    def wait(self, pid: int) -> int:
        return int(str(self._ask({"wait": pid})["code"]))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


CLI = "import sys; from nurture.cli import main; sys.argv = sys.argv[1:]; main()"


class Interpreter:
    def __init__(self) -> None:
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, argv: list[str], env: dict[str, str], out: Path, err: Path) -> int:
        with out.open("wb") as fo, err.open("wb") as fe:
            proc = subprocess.Popen(
                [sys.executable, "-c", CLI, *argv],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=fo,
                stderr=fe,
                start_new_session=True,
            )
        self.procs[proc.pid] = proc
        return proc.pid

    def wait(self, pid: int) -> int:
        return self.procs.pop(pid).wait(timeout=600)

    def close(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.wait()
