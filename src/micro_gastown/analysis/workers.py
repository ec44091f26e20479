"""Forked worker processes for a split scan, none of which may outlive the scan.

A worker left behind blocks forever writing its result to a pipe nobody reads, and holds the
caller's stdout and stderr open, so a caller waiting for EOF on them hangs. Hence:

- each worker asks the kernel for SIGKILL when its parent dies, however the parent dies,
  SIGKILL included (:func:`micro_gastown.parent_death.die_with_parent`);
- leaving the ``with`` block before every result is in (an error, Ctrl-C, a signal) kills
  the workers still running and reaps them;
- while workers run, SIGTERM and SIGHUP unwind the parent (exit 128 + the signal's
  number, no traceback) unless someone already handles them, so it stops its workers on
  the way out;
- a worker ignores Ctrl-C, which the terminal sends to the whole process group: the
  parent gets it too and stops the workers itself, with one message instead of one
  traceback per worker.

Each worker has its own pipe, so results are read in the order of the calls, whatever
order the workers finish in.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from micro_gastown.errors import MicroGastownError, SourceError
from micro_gastown.parent_death import die_with_parent
from micro_gastown.termination import exit_on_term

T = TypeVar("T")

_UNWINDING = (signal.SIGTERM, signal.SIGHUP)


class ForkedWorkers(Generic[T]):
    """Runs each call in a forked process of its own; :meth:`results` yields in call order.

    ``what(i)`` names the work of call ``i`` for an error message ("part 2 of file:x").
    A MicroGastownError raised in a worker is raised again in the parent; a worker that
    dies without answering is a SourceError; any other exception is a bug, raised as a
    RuntimeError carrying the worker's traceback.
    """

    def __init__(self, calls: Sequence[Callable[[], T]], what: Callable[[int], str]) -> None:
        self._calls = calls
        self._what = what
        self._workers: list[tuple[BaseProcess, Connection]] = []
        self._handlers: dict[int, Any] = {}

    def __enter__(self) -> Self:
        self._handlers = _unwind_on_stop_signals()
        try:
            context = get_context("fork")
            parent = os.getpid()
            for call in self._calls:
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_work, args=(call, send, parent), daemon=True)
                self._workers.append((process, receive))
                try:
                    process.start()
                finally:
                    send.close()  # the worker holds the only writing end: its death is EOF
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop()

    def results(self) -> Iterator[T]:
        for index, (process, receive) in enumerate(self._workers):
            try:
                message: list[Any] = receive.recv()  # [outcome, payload]
            except (EOFError, OSError):
                process.join()
                raise SourceError(
                    f"{self._what(index)}: its worker process {_ended(process.exitcode)}"
                ) from None
            finally:
                receive.close()
            outcome = message[0]
            if outcome == "error":
                raise message[1]
            if outcome == "crash":
                raise RuntimeError(f"{self._what(index)} failed in its worker:\n{message[1]}")
            yield message.pop()  # not kept here while the caller holds it: memory is one result

    def _stop(self) -> None:
        """Kill what still runs, reap everything, and put the signal handlers back."""
        try:
            for process, _ in self._workers:
                if process.pid is not None and process.exitcode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            for process, receive in self._workers:
                if process.pid is not None:
                    process.join()
                receive.close()
        finally:
            for signum, handler in self._handlers.items():
                signal.signal(signum, handler)
            self._handlers = {}


def _unwind_on_stop_signals() -> dict[int, Any]:
    """Make SIGTERM and SIGHUP unwind this process where they would kill it outright;
    returns the handlers replaced. Only the main thread may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    replaced: dict[int, Any] = {}
    for signum in _UNWINDING:
        if signal.getsignal(signum) is signal.SIG_DFL:
            replaced[signum] = signal.signal(signum, exit_on_term)
    return replaced


def _ended(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if -exitcode == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"ended (exit {exitcode}) without a result"


def _work(call: Callable[[], Any], send: Connection, parent: int) -> None:
    """A worker's life: run ``call`` and send back ["ok" | "error" | "crash", payload]."""
    die_with_parent(parent, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in _UNWINDING:
        signal.signal(signum, signal.SIG_DFL)
    try:
        message: list[Any] = ["ok", call()]
    except MicroGastownError as exc:
        message = ["error", _portable(exc)]
    except Exception:
        message = ["crash", traceback.format_exc()]
    try:
        send.send(message)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        send.send(["crash", traceback.format_exc()])
    except BrokenPipeError:  # the parent stopped listening: nothing to tell
        pass
    send.close()


def _portable(error: MicroGastownError) -> MicroGastownError:
    """``error`` if it survives the trip through the pipe, else its message alone (an
    exception whose constructor needs keywords cannot be unpickled)."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return SourceError(str(error))
    return error
