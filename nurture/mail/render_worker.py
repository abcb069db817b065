"""A render worker process: forked by the sender, or ``python -m nurture.mail.render_worker``.

A forked worker shares the sender's loaded modules and compiled templates; a spawned one
reads a :class:`~nurture.mail.factory.FactoryConfig` and an optional
:class:`~nurture.mail.factory.ClaimSetup` first. Then both serve requests, each as an 8-byte
length and a pickle: a list of jobs or ``("claim", limit, now, outcomes)`` (records the
sender's outcomes, then claims up to ``limit`` rows in the sender's name); both are answered
with one :data:`~nurture.mail.factory.Ready` tuple per message (plain tuples of str, int and
bytes: the cheapest thing for the sender to unpickle), same framing. A worker exits at end of
input. Only the sender talks to it, over pipes it created (pickles are never read from
elsewhere).
"""

from __future__ import annotations

import gc
import pickle
import sys
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from nurture.mail.factory import ClaimSetup, MessageFactory


def _read(stream: BinaryIO) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    size = int.from_bytes(header, "big")
    return pickle.loads(stream.read(size))


def claimer_for(setup: ClaimSetup | None) -> Any:
    """A :class:`~nurture.mail.claiming.Claimer` for the sender's rows (database code is
    only loaded when the sender asked for it)."""
    if setup is None:
        return None
    from nurture.db.session import make_engine
    from nurture.mail.claiming import Claimer

    return Claimer(make_engine(setup.database_url), setup.worker)


def serve(stdin: BinaryIO, stdout: BinaryIO, factory: MessageFactory, claimer: Any) -> None:
    """Answer requests until the sender closes ``stdin`` (or a signal stops the process)."""
    from nurture.mail.factory import ready

    gc.freeze()  # what is loaded now lives as long as the process: never walk it again
    try:
        while True:
            request = _read(stdin)
            if isinstance(request, tuple):  # ("claim", limit, now, outcomes)
                _, limit, now, outcomes = request
                if outcomes:  # results of the sender's earlier rows first
                    claimer.record(outcomes, now)
                jobs = claimer.claim(limit, now)
            else:
                jobs = request
            answer = [ready(job.row, factory.prepare(job)) for job in jobs]
            data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
            stdout.write(len(data).to_bytes(8, "big") + data)
            stdout.flush()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return


def main() -> None:
    from nurture.mail.factory import MessageFactory

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        config, setup = _read(stdin)
    except (EOFError, KeyboardInterrupt):
        return
    serve(stdin, stdout, MessageFactory(config), claimer_for(setup))


if __name__ == "__main__":
    main()
