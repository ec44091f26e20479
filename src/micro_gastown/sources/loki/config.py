"""Settings for talking to Grafana Loki: an explicit, frozen value object.

Nothing here reads the process environment by itself: ``LokiConfig.from_env`` takes the
mapping to read (``os.environ`` in the entry point, a dict in tests), so which variables
count is visible at the call site. Env names follow sleeptime-logs (``GRAFANA_LOKI_*``)
and logcli (``LOKI_*``), so setups carry over. Secrets never appear in ``repr``/``str``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from micro_gastown.errors import ConfigError
from micro_gastown.sources.loki.address import (
    check_url,
    query_params,
    with_masked_query,
    without_query,
)

DEFAULT_URL = "http://localhost:3100"
MIN_URL_SECRET = 6  # see LokiConfig.secrets
MAX_BATCH_SIZE = 5000  # Loki's default max_entries_limit_per_query; more is a 400
DEFAULT_CONCURRENCY = 2
MAX_CONCURRENCY = 8  # sub-range queries in flight at once; more would just earn 429s
CONCURRENCY_VAR = "MICRO_GASTOWN_LOKI_CONCURRENCY"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by a total time budget.

    Tests shrink these so failure paths run in milliseconds; production keeps the
    defaults, which outlast a typical Loki 429 burst or a gateway restart.
    """

    budget_s: float = 60.0
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    jitter_s: float = 0.5

    def __post_init__(self) -> None:
        for name in ("budget_s", "initial_backoff_s", "max_backoff_s", "jitter_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"Loki retry setting {name} must not be negative")


@dataclass(frozen=True, slots=True)
class LokiConfig:
    """Where Loki is, how to authenticate, and how hard to try.

    ``url`` plus ``path_prefix`` is the base in front of ``/loki/api/v1`` (a reverse proxy
    may mount Loki under a prefix). Basic auth (``username`` + ``password``) and
    ``bearer_token`` are alternatives; ``org_id`` adds ``X-Scope-OrgID`` for multi-tenant
    Loki. ``split`` cuts long windows into sub-queries the way Loki's frontend does;
    ``concurrency`` of them are fetched at once (1: strictly one request at a time).

    ``timeout_s`` is the longest wait for one answer (connect, then each read); a call,
    retries included, never takes longer than ``retry.budget_s`` (the last attempt's
    timeout is cut to what is left). A timeout is retried once at most, and not at all
    before this Loki has answered once: a server that accepts connections and never
    answers costs one ``timeout_s``, with an error saying so.
    """

    url: str = DEFAULT_URL
    path_prefix: str = ""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    org_id: str | None = None
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_s: float = 30.0
    batch_size: int = MAX_BATCH_SIZE
    split: timedelta = timedelta(hours=1)
    concurrency: int = DEFAULT_CONCURRENCY
    retry: RetryPolicy = RetryPolicy()

    def __post_init__(self) -> None:
        check_url(self.url, "url")
        if (self.username is None) != (self.password is None):
            raise ConfigError("Loki basic auth needs both username and password")
        if self.password is not None and self.bearer_token is not None:
            raise ConfigError("Loki: use basic auth or a bearer token, not both")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ConfigError(
                f"Loki batch_size {self.batch_size}: must be 1..{MAX_BATCH_SIZE} "
                "(Loki rejects larger limits with max_entries_limit_per_query)"
            )
        if self.timeout_s <= 0:
            raise ConfigError(f"Loki timeout_s {self.timeout_s}: must be positive")
        if self.split <= timedelta(0):
            raise ConfigError(f"Loki split {self.split}: must be positive")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ConfigError(f"Loki concurrency {self.concurrency}: must be 1..{MAX_CONCURRENCY}")

    @property
    def base_url(self) -> str:
        """The address the API paths hang off: no credentials, no query string."""
        prefix = self.path_prefix.strip("/")
        return without_query(self.url).rstrip("/") + (f"/{prefix}" if prefix else "")

    @property
    def url_params(self) -> tuple[tuple[str, str], ...]:
        """The URL's query-string parameters (a proxy's token, say): sent every time."""
        return query_params(self.url)

    @property
    def display_url(self) -> str:
        """The address as every message and report prints it: query values masked."""
        return with_masked_query(self.base_url, self.url_params)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be printed (errors scrub them as a last line of defence).

        Query-string values count when they could be a token (6 characters or more):
        scrubbing ``1`` from ``?orgId=1`` would garble every number in a message.
        """
        tokens = (value for _, value in self.url_params if len(value) >= MIN_URL_SECRET)
        return tuple(s for s in (self.password, self.bearer_token, *tokens) if s)

    def __repr__(self) -> str:
        shown = [
            f"url={self.display_url!r}",
            f"username={self.username!r}",
            f"password={'<set>' if self.password else None}",
            f"bearer_token={'<set>' if self.bearer_token else None}",
            f"org_id={self.org_id!r}",
            f"verify_tls={self.verify_tls}",
            f"ca_bundle={str(self.ca_bundle) if self.ca_bundle else None!r}",
            f"timeout_s={self.timeout_s}",
            f"batch_size={self.batch_size}",
            f"split={self.split}",
            f"concurrency={self.concurrency}",
            f"retry_budget_s={self.retry.budget_s}",
        ]
        return f"LokiConfig({', '.join(shown)})"

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: object) -> LokiConfig:
        """Build from ``environ`` (sleeptime-logs then logcli names); ``overrides`` win.

        Errors name the variable to fix. When both the sleeptime-logs and the logcli name
        of a setting are set, the sleeptime-logs one wins (it is what ExoMonad docs use).
        """

        def get(*names: str) -> tuple[str | None, str]:
            for name in names:
                value = environ.get(name)
                if value:
                    return value, name
            return None, names[0]

        url, url_var = get("GRAFANA_LOKI_URL", "LOKI_ADDR")
        given = overrides.get("url")
        if isinstance(given, str):
            check_url(given, None)  # the source setting's address wins; name it
        else:
            check_url(url or DEFAULT_URL, url_var)
        username, password = None, None
        for user_var, pass_var in (
            ("GRAFANA_LOKI_USER", "GRAFANA_LOKI_TOKEN"),
            ("LOKI_USERNAME", "LOKI_PASSWORD"),
        ):
            user, secret = environ.get(user_var) or None, environ.get(pass_var) or None
            if (user is None) != (secret is None):
                missing, present = (pass_var, user_var) if secret is None else (user_var, pass_var)
                raise ConfigError(f"{present} is set but {missing} is not: basic auth needs both")
            if user is not None and username is None:
                username, password = user, secret
        bearer = environ.get("LOKI_BEARER_TOKEN") or None
        if bearer is not None and password is not None:
            raise ConfigError(
                "LOKI_BEARER_TOKEN and basic-auth variables are both set: keep only one"
            )
        skip_verify = (environ.get("LOKI_TLS_SKIP_VERIFY") or "").strip().lower()
        if skip_verify not in _TRUE | _FALSE:
            raise ConfigError(f"LOKI_TLS_SKIP_VERIFY={skip_verify!r}: expected true or false")
        ca_path = environ.get("LOKI_CA_CERT_PATH") or None
        if ca_path is not None and not Path(ca_path).is_file():
            raise ConfigError(f"LOKI_CA_CERT_PATH={ca_path!r}: no such file")
        values: dict[str, object] = {
            "url": url or DEFAULT_URL,
            "username": username,
            "password": password,
            "bearer_token": bearer,
            "org_id": environ.get("LOKI_ORG_ID") or None,
            "verify_tls": skip_verify not in _TRUE,
            "ca_bundle": Path(ca_path) if ca_path else None,
            "concurrency": _concurrency(environ.get(CONCURRENCY_VAR)),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _concurrency(raw: str | None) -> int:
    """``MICRO_GASTOWN_LOKI_CONCURRENCY``: a whole number 1..8; unset or empty: the default."""
    if raw is None or not raw.strip():
        return DEFAULT_CONCURRENCY
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CONCURRENCY:
        raise ConfigError(
            f"{CONCURRENCY_VAR}={raw!r}: expected a whole number from 1 to {MAX_CONCURRENCY} "
            "(sub-range queries sent to Loki at once)"
        )
    return value
