"""The rollback watcher: whether a merged evolution PR made its findings better or worse.

:mod:`micro_gastown.watch.judge` is the statistics (a one-sided rate test with a minimum
amount of data and a minimum effect); the watcher that reads merged PRs, counts their
windows in Loki and opens reverts builds on it.
"""

from micro_gastown.watch.judge import (
    DEFAULT_POLICY,
    Counts,
    Judgement,
    JudgePolicy,
    Verdict,
    judge,
)

__all__ = ["DEFAULT_POLICY", "Counts", "JudgePolicy", "Judgement", "Verdict", "judge"]
