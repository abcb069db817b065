"""A render worker process: ``python -m nurture.mail.render_worker`` (started by the sender).

Reads a :class:`~nurture.mail.factory.FactoryConfig`, then lists of jobs, each as an 8-byte
length and a pickle on stdin; answers each list with the list of
:class:`~nurture.mail.factory.Prepared`, same framing, on stdout. Exits at end of input.
Only the sender talks to it, over a pipe it created (pickles are never read from elsewhere).
"""

from __future__ import annotations

import gc
import pickle
import sys
from typing import Any, BinaryIO

from nurture.mail.factory import MessageFactory


def _read(stream: BinaryIO) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    size = int.from_bytes(header, "big")
    return pickle.loads(stream.read(size))


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        factory = MessageFactory(_read(stdin))
        gc.freeze()  # what is loaded now lives as long as the process: never walk it again
        while True:
            jobs = _read(stdin)
            data = pickle.dumps([factory.prepare(job) for job in jobs], pickle.HIGHEST_PROTOCOL)
            stdout.write(len(data).to_bytes(8, "big") + data)
            stdout.flush()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return


if __name__ == "__main__":
    main()
