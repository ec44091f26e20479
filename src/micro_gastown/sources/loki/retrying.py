"""When to try a Loki call again: exponential backoff with jitter within a time budget.

Only a ``Transient`` failure is retried (what counts as one is decided in
:mod:`~micro_gastown.sources.loki.failures`); anything else ends the call at once. A wait
is at least the ``Retry-After`` the failure carries. An ``Unreachable`` address gets
``UNREACHABLE_ATTEMPTS`` quick tries while this Loki has never answered, since that is
almost always a wrong URL, and the whole budget afterwards. Inside ``waits_end_on`` a
wait ends the call with ``Cancelled`` once the given event is set. Running out raises
``RetriesExhausted``; the client words the ``LokiUnavailableError`` the user sees.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_before_delay,
    wait_exponential_jitter,
)

from micro_gastown.sources.loki.config import RetryPolicy

UNREACHABLE_ATTEMPTS = 3
# Set per thread (a new thread starts with it unset) by ``waits_end_on``.
_STOP_WAITING: ContextVar[threading.Event | None] = ContextVar("loki_stop_waiting", default=None)

T = TypeVar("T")


class Transient(Exception):
    """An attempt failed in a way that may pass: the retry loop's only trigger."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Unreachable(Transient):
    """Nothing listens at the address, or its host name does not resolve.

    Before Loki has answered once this is almost always a wrong GRAFANA_LOKI_URL/LOKI_ADDR,
    so it gets ``UNREACHABLE_ATTEMPTS`` quick tries instead of the whole budget; after an
    answer it is a restart or a network blip, and transient like any other.
    """


class Cancelled(Exception):
    """A retry wait ended because the caller stopped (``waits_end_on``)."""


class RetriesExhausted(Exception):
    """The policy allowed no further attempt: ``last`` failed after ``attempts`` tries."""

    def __init__(self, last: BaseException | None, attempts: int, elapsed_s: float) -> None:
        super().__init__(f"gave up after {attempts} attempts")
        self.last = last
        self.attempts = attempts
        self.elapsed_s = elapsed_s


@contextmanager
def waits_end_on(stop: threading.Event) -> Iterator[None]:
    """Inside this block, in this thread, a retry wait ends the call once ``stop`` is set.

    For workers that must stop promptly (LokiSource's sub-range fetchers): the call
    then raises an internal exception that the worker discards rather than sitting out
    a backoff of up to ``max_backoff_s``. An attempt already on the wire still runs to
    its end (at most ``timeout_s``).
    """
    token = _STOP_WAITING.set(stop)
    try:
        yield
    finally:
        _STOP_WAITING.reset(token)


def _sleep(seconds: float) -> None:
    stop = _STOP_WAITING.get()
    if stop is None:
        time.sleep(seconds)
    elif stop.wait(seconds):
        raise Cancelled("stopped while waiting to retry")


def call_with_retries(
    attempt: Callable[[], T], policy: RetryPolicy, *, answered: Callable[[], bool]
) -> T:
    """``attempt()`` until it returns, raises a non-transient error, or the policy stops.

    ``answered`` tells whether this Loki has ever answered (see ``Unreachable``).
    """
    backoff = wait_exponential_jitter(
        multiplier=policy.initial_backoff_s, max=policy.max_backoff_s, jitter=policy.jitter_s
    )

    def wait(state: RetryCallState) -> float:
        delay = float(backoff(state))
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, Transient) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay

    out_of_budget = stop_before_delay(policy.budget_s)

    def stop(state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        wrong_address = isinstance(error, Unreachable) and not answered()
        if wrong_address and state.attempt_number >= UNREACHABLE_ATTEMPTS:
            return True
        return bool(out_of_budget(state))

    started = time.monotonic()
    attempts = 0
    try:
        for retrying in Retrying(
            retry=retry_if_exception_type(Transient),
            wait=wait,
            stop=stop,
            sleep=_sleep,
            reraise=False,
        ):
            with retrying:
                attempts += 1
                return attempt()
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise RetriesExhausted(last, attempts, time.monotonic() - started) from None
    raise AssertionError("unreachable: Retrying either returns or raises")
