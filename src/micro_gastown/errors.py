"""The one exception tree of micro-gastown.

::

    MicroGastownError            every error we expect and can explain in one line
    ├── ConfigError              bad setup: flags, TOML, thresholds (fails before any I/O)
    │   └── UsageError           a command-line flag or argument is wrong
    ├── SourceError              a log source cannot be read (missing file, bad gzip, ...)
    │   └── LokiError            Loki answered something we cannot use
    │       ├── LokiQueryError       400: Loki rejected the query (its own text kept)
    │       ├── LokiAuthError        401/403: a credential or tenant setting is wrong
    │       ├── LokiNotFoundError    404: wrong URL or path prefix
    │       └── LokiUnavailableError retries exhausted (network, 408, 429, 5xx, bad bodies)
    ├── DslError                 the DSL checkout cannot be read (no Graph.hs, bad checkout)
    ├── LlmError                 a model call failed in a way the user can act on
    │   ├── BudgetExceeded       the next call could pass the run's budget; nothing sent
    │   ├── ModelPolicyError     not Haiku unless allowed; an unknown model
    │   ├── LiveCallForbidden    a real API call while MICRO_GASTOWN_NO_LIVE_LLM is set
    │   ├── LlmAuthError         no key, key rejected (401) or not allowed (403)
    │   ├── LlmRequestError      400/404/413/...: the API rejected it (its own text kept)
    │   ├── LlmUnavailableError  overloaded (529), 429, 5xx or network, after retries
    │   │   └── LlmTimeoutError  no answer within the request's timeout
    │   ├── LlmRefusalError      the model refused to answer
    │   └── LlmOutputError       output still invalid after the repairs, or cut off
    ├── GitHubError              GitHub or the push to it failed in a way the user can act on
    │   ├── GitHubAuthError          401, or 403 without a rate limit: the token or its permissions
    │   ├── GitHubNotFoundError      404: no such repository, branch or PR (or no access to it)
    │   ├── GitHubConflictError      an unresolvable 422, a refused push, a branch others edited
    │   ├── GitHubUnavailableError   5xx, rate limits or the network, after retries
    │   └── GitError                 a local git command failed (its stderr kept, the token never)
    │       ├── RevertConflictError  a revert clashes with later changes (names the paths)
    │       └── NothingToRevertError the branch no longer holds the change to revert
    ├── StepUnavailable          a formula step's skill is not built yet; the run stays resumable
    └── OutputError              a result cannot be written

Setup mistakes (ConfigError, DslError, ModelPolicyError, LiveCallForbidden, LlmAuthError,
LlmRequestError) have ``retryable = False``: the same attempt would fail the same way, so a
formula step is not retried on them.

The CLI turns any of these into one clear line and a non-zero exit code: one table,
:class:`ExitCode`, one meaning per code (2 ConfigError, 3 SourceError and DslError, 4
LlmError, 5 BudgetExceeded, 6 OutputError, 9 GitHubError); any other exception is a bug
and keeps its traceback. Third-party exceptions are translated into these once, at the
boundary where they are raised.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status means, the same in every command (the README's table)."""

    OK = 0
    FINDINGS = 1
    """``analyze --fail-on``: a pattern this severe or worse was found."""
    USAGE = 2
    """Bad setup: a flag, an environment value, a TOML or schema file, a threshold."""
    INPUT = 3
    """The logs (a file, Loki) or the DSL checkout cannot be read."""
    LLM = 4
    """The LLM pass failed; the deterministic report is still written."""
    BUDGET = 5
    """The budget stopped a model call before it was sent."""
    OUTPUT = 6
    """A result cannot be written (``--output``, stdout on a full or closed device)."""
    INCOMPLETE = 7
    """``evolve``: the run did not complete (a step failed or is blocked); resumable."""
    NO_CHANGE = 8
    """``refine``: no proposal may be filed (the model declined, a guardrail refused it,
    validation failed or could not run); the ProposedChanges JSON says why."""
    PUBLISH = 9
    """``file-pr``: GitHub or the push refused or failed (a token, a permission, a
    conflict, GitHub down after retries); nothing half-filed stays unfinished for good: the
    next run completes it."""


class MicroGastownError(Exception):
    """Base class: an error the user can act on, explained in one line.

    ``setting`` names the setting the error is about in neutral words ("repo", "since",
    "budget_usd", ...) and ``value`` the value it was given, if any: lower layers never
    spell a command-line flag, so each face (the CLI, an Action) words the setting for
    itself. ``str(exc)`` reads well on its own: ``repo /x: no such directory``.
    """

    exit_code: int = ExitCode.USAGE
    retryable = True
    """False for a mistake in the setup (a flag, a file, a key, a model): trying the same
    thing again fails the same way, so a formula step is not retried on it."""

    def __init__(self, *args: object, setting: str | None = None, value: object = None) -> None:
        super().__init__(*args)
        self.setting = setting
        self.value = value

    @property
    def reason(self) -> str:
        """The message without the setting and value it is about."""
        return super().__str__()

    def __str__(self) -> str:
        if self.setting is None:
            return self.reason
        return f"{self.setting}{shown_value(self.value)}: {self.reason}"


def shown_value(value: object) -> str:
    """How an error shows the value a setting was given: after a space, text quoted (it
    may be empty or hold spaces), paths and numbers as they are; nothing for no value."""
    if value is None:
        return ""
    return f" {value!r}" if isinstance(value, str) else f" {value}"


class ConfigError(MicroGastownError):
    """Bad configuration: names the file, table/field or flag that is wrong."""

    exit_code = ExitCode.USAGE
    retryable = False


class UsageError(ConfigError):
    """A command-line flag or argument is wrong."""


class SourceError(MicroGastownError):
    """A log source cannot be opened or read."""

    exit_code = ExitCode.INPUT


class LokiError(SourceError):
    """Loki answered, or failed to answer, in a way the client cannot use."""


class LokiQueryError(LokiError):
    """Loki rejected the query with 400; retrying the same request cannot help.

    ``loki_message`` is Loki's plain-text explanation (a LogQL parse error, a limit).
    """

    def __init__(self, message: str, *, loki_message: str) -> None:
        super().__init__(message)
        self.loki_message = loki_message


class LokiAuthError(LokiError):
    """401/403: the message names the credential setting that is probably wrong."""


class LokiNotFoundError(LokiError):
    """404: the URL or path prefix does not point at Loki's API."""


class LokiUnavailableError(LokiError):
    """Loki stayed unreachable or overloaded for the whole retry budget."""


class DslError(MicroGastownError):
    """The DSL checkout cannot be read."""

    exit_code = ExitCode.INPUT
    retryable = False


class LlmError(MicroGastownError):
    """A model call failed in a way the user can act on (auth, policy, budget, output)."""

    exit_code = ExitCode.LLM


class BudgetExceeded(LlmError):
    """The next call could cost more than the run's remaining budget; nothing was sent."""

    exit_code = ExitCode.BUDGET


class ModelPolicyError(LlmError):
    """A model name the policy refuses: not Haiku unless non-Haiku models are allowed, or
    unknown."""

    retryable = False


class LiveCallForbidden(LlmError):
    """A real Anthropic API call was about to be made where they are switched off."""

    retryable = False


class LlmAuthError(LlmError):
    """The API key is missing, rejected, or lacks permission."""

    retryable = False


class LlmRequestError(LlmError):
    """The API rejected the request as malformed or impossible; retrying cannot help.

    ``api_message`` is the API's own explanation, when it gave one.
    """

    retryable = False

    def __init__(self, message: str, *, api_message: str | None = None) -> None:
        super().__init__(message)
        self.api_message = api_message


class LlmUnavailableError(LlmError):
    """The API stayed overloaded, rate-limited or unreachable through the SDK's retries."""


class LlmTimeoutError(LlmUnavailableError):
    """No answer within the request's timeout."""


class LlmRefusalError(LlmError):
    """The model declined to answer (``stop_reason == "refusal"``)."""


class LlmOutputError(LlmError):
    """The model produced no usable output: invalid after the repairs, or cut off."""


class OutputError(MicroGastownError):
    """A result cannot be written where it was asked to go."""

    exit_code = ExitCode.OUTPUT


class GitHubError(MicroGastownError):
    """GitHub, or the git push to it, failed in a way the user can act on.

    ``status`` is the HTTP status when there was one; ``api_message`` is GitHub's own
    message (never a token: callers redact before raising)."""

    exit_code = ExitCode.PUBLISH

    def __init__(
        self,
        *args: object,
        status: int | None = None,
        api_message: str | None = None,
        setting: str | None = None,
        value: object = None,
    ) -> None:
        super().__init__(*args, setting=setting, value=value)
        self.status = status
        self.api_message = api_message


class GitHubAuthError(GitHubError):
    """401, or a 403 that is not a rate limit: the token is wrong or lacks a permission."""

    retryable = False


class GitHubNotFoundError(GitHubError):
    """404: no such repository, branch or pull request, or the token cannot see it."""

    retryable = False


class GitHubConflictError(GitHubError):
    """A 422 we cannot resolve, a push the remote refused, or a branch with someone
    else's commits: the run leaves it alone."""

    retryable = False


class GitHubUnavailableError(GitHubError):
    """5xx, primary or secondary rate limits, or the network, after the retries."""


class GitError(GitHubError):
    """A local ``git`` command failed; its stderr is kept, with any credential removed."""

    retryable = False


class RevertConflictError(GitError):
    """Reverting a commit clashes with later changes to the same lines; ``paths`` are the
    files git could not merge. Only a human can resolve it."""

    def __init__(
        self, message: str, *, paths: tuple[str, ...], api_message: str | None = None
    ) -> None:
        super().__init__(message, api_message=api_message)
        self.paths = paths


class NothingToRevertError(GitError):
    """The revert would change nothing: the branch no longer holds the change (reverted by
    hand, or never merged into it)."""


class StepUnavailable(MicroGastownError):
    """The skill a formula step runs is not built (yet); the run stays resumable."""

    exit_code = ExitCode.INCOMPLETE
