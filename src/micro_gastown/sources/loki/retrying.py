"""When to try a Loki call again: exponential backoff with jitter within a time budget.

Only a ``Transient`` failure is retried (what counts as one is decided in
:mod:`~micro_gastown.sources.loki.failures`); anything else ends the call at once. A wait
is at least the ``Retry-After`` the failure carries. Some failures get a few attempts
rather than the whole budget (:func:`attempts_allowed`): an ``Unreachable`` address
while this Loki has never answered (almost always a wrong URL), a ``TimedOut`` attempt
(retried once, and not before a first answer: a server that accepts and never answers
would otherwise hold the user for the whole budget), and a ``NotLokiAnswer`` (retried
once, in case the body was cut short). The budget bounds the whole call: every attempt
after the first is told how much of it is left, to cut its timeout to that. Inside
``waits_end_on`` a wait ends the call with ``Cancelled`` once the given event is set.
Running out raises ``RetriesExhausted``; the client words the error the user sees.
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
TIMEOUT_ATTEMPTS = 2
NOT_LOKI_ATTEMPTS = 2
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


class TimedOut(Transient):
    """No connection, or no answer, within the attempt's timeout."""


class NotLokiAnswer(Transient):
    """A 200 whose body is not JSON: cut short (once), or not Loki at all (twice)."""


def attempts_allowed(error: BaseException | None, answered: bool) -> int | None:
    """How many attempts in a row a failure like ``error`` gets; None: the budget's."""
    if isinstance(error, Unreachable) and not answered:
        return UNREACHABLE_ATTEMPTS
    if isinstance(error, TimedOut):
        return TIMEOUT_ATTEMPTS if answered else 1
    if isinstance(error, NotLokiAnswer):
        return NOT_LOKI_ATTEMPTS
    return None


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
    attempt: Callable[[float | None], T], policy: RetryPolicy, *, answered: Callable[[], bool]
) -> T:
    """``attempt(left)`` until it returns, raises a non-transient error, or the policy stops.

    ``left`` is None for the first attempt and then the seconds left of the budget, which
    the attempt's timeout must not exceed. ``answered`` tells whether this Loki has ever
    answered (see ``attempts_allowed``).
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
    streak: list[type[BaseException]] = []  # the latest failures, all of one kind

    def stop(state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        kind = type(error) if error is not None else BaseException
        if streak and streak[0] is not kind:
            streak.clear()
        streak.append(kind)
        allowed = attempts_allowed(error, answered())
        if allowed is not None and len(streak) >= allowed:
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
                left = None if attempts == 0 else policy.budget_s - (time.monotonic() - started)
                attempts += 1
                return attempt(left)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise RetriesExhausted(last, attempts, time.monotonic() - started) from None
    raise AssertionError("unreachable: Retrying either returns or raises")
