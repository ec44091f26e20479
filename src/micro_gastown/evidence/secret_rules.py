"""The secret-detection rules behind `micro_gastown.evidence.redact.Redactor`.

Detection is detect-secrets' maintained rule set (Yelp): every ``RegexBasedDetector`` plugin it
ships (AWS, Artifactory, Azure, basic-auth URLs, Cloudant, Discord, GitHub, GitLab, IBM, JWT,
Mailchimp, npm, OpenAI, private keys, PyPI, SendGrid, Slack, SoftLayer, Square, Stripe,
Telegram, Twilio, ... and any it adds later), its keyword rules for quoted assignments, and
its Base64 entropy check limited to quoted strings. We run the plugins' own regexes with
``finditer`` so each rule reports *where* a secret is, not just its value. The formats of
gitleaks' default rule set that detect-secrets lacks are rules of our own, in
`micro_gastown.evidence.secret_rules_extra` (prefixed tokens, PEM blocks, curl credentials,
...) and `micro_gastown.evidence.secret_rules_providers` (values known by a key naming the
provider); `default_rules` runs them all.

Left out on purpose, because on ordinary log lines they flag words, span ids and hashes rather
than secrets: the hex entropy plugin, the eager (unquoted) mode of the Base64 one, and
``IPPublicDetector`` (addresses are evidence, not credentials).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any, Final, Protocol

from detect_secrets import plugins as ds_plugins
from detect_secrets.plugins import keyword as ds_keyword
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
from detect_secrets.util.importlib import import_types_from_package

from micro_gastown.evidence.secret_rules_extra import Span, extra_rules
from micro_gastown.evidence.secret_rules_providers import (
    PROVIDER_RULES,
    names_a_provider,
    names_provider_credential,
)

__all__ = [
    "DEFAULT_ENTROPY_LIMIT",
    "Rule",
    "Span",
    "default_rules",
    "holds_secret",
    "is_secret_key",
    "regex_detector_classes",
]

_SECRET_KEYWORD: Final = "secret-keyword"

# detect-secrets plugins we do not run, and why (see the module docstring).
_EXCLUDED_DETECTORS: Final = frozenset({"IPPublicDetector"})

# detect-secrets' default limit for Base64 strings. Hex ids and UUIDs can never exceed it
# (16-17 symbols give at most ~4.1 bits/char), so span and trace ids stay visible.
DEFAULT_ENTROPY_LIMIT: Final = 4.5


class Rule(Protocol):
    """Finds the secrets of one kind in a text."""

    kind: str

    def find(self, text: str) -> Iterator[Span]: ...


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# --- detect-secrets plugins -------------------------------------------------------------


def _is_regex_detector(attribute: Any) -> bool:
    return (
        isinstance(attribute, type)
        and issubclass(attribute, RegexBasedDetector)
        and isinstance(getattr(attribute, "secret_type", None), str)
        and isinstance(getattr(attribute, "denylist", None), list | tuple)
    )


def regex_detector_classes() -> list[type[Any]]:
    """Every concrete ``RegexBasedDetector`` detect-secrets ships, minus the excluded ones.

    Discovered rather than listed, so upgrading detect-secrets brings its new rules along;
    the tests pin the providers we rely on and the ordinary lines that must stay untouched.
    """
    found = import_types_from_package(ds_plugins, filter=lambda x: not _is_regex_detector(x))
    unique = {cls.__name__: cls for cls in found if cls.__name__ not in _EXCLUDED_DETECTORS}
    return [unique[name] for name in sorted(unique)]


# Delimiters some patterns include around the token (Artifactory: whitespace, quotes, =, :).
_SURROUNDING: Final = " \t\r\n\"'"
_LEADING: Final = _SURROUNDING + "=:"


# Plugins whose capture groups hold exactly the secret (key=value style rules, basic-auth
# URLs). For the others we redact the whole match: GitHub's and GitLab's groups hold only a
# token *prefix*, which is also all their analyze_string reports ("ghp"), and a plugin added
# in a later detect-secrets release is safer over-redacted than half-redacted.
_SECRET_IN_GROUPS: Final = frozenset(
    {
        "AWSKeyDetector",
        "BasicAuthDetector",
        "CloudantDetector",
        "IbmCloudIamDetector",
        "IbmCosHmacDetector",
        "NpmDetector",
        "SoftlayerDetector",
    }
)


def _has_digit(value: str) -> bool:
    return any(ch.isdigit() for ch in value)


# Extra checks on a plugin's hits where its pattern matches ordinary words. Artifactory's
# "AP[0-9A-F]..." password rule matches CamelCase identifiers ("APDatabaseConnection");
# real tokens are random and contain digits.
_PLAUSIBLE: Final[dict[str, Any]] = {"ArtifactoryDetector": _has_digit}


class _DetectorRule:
    """One detect-secrets regex plugin, reporting where each secret is, not only its value.

    ``RegexBasedDetector.analyze_string`` yields ``regex.findall`` results, i.e. only values.
    We run the same patterns with ``finditer`` to get positions: the capture groups for the
    plugins in ``_SECRET_IN_GROUPS``, the whole match for the rest. The tests check every
    value analyze_string reports falls inside a span we redact.
    """

    def __init__(self, plugin: Any) -> None:
        self.plugin = plugin
        self.kind = _slug(plugin.secret_type)
        name = type(plugin).__name__
        self._use_groups = name in _SECRET_IN_GROUPS
        self._plausible = _PLAUSIBLE.get(name)
        # A plugin that overrides analyze_string filters the regex hits further (the JWT
        # plugin checks the parts decode); ask it about each candidate.
        self._filters = type(plugin).analyze_string is not RegexBasedDetector.analyze_string

    def find(self, text: str) -> Iterator[Span]:
        for regex in self.plugin.denylist:
            for match in regex.finditer(text):
                if self._use_groups and regex.groups:
                    groups = range(1, regex.groups + 1)
                    spans = [match.span(i) for i in groups if match.group(i)]
                else:
                    spans = [match.span()]
                for start, end in spans:
                    span = self._located(text, start, end)
                    if span is not None:
                        yield span

    def _located(self, text: str, start: int, end: int) -> Span | None:
        while start < end and text[start] in _LEADING:
            start += 1
        while end > start and text[end - 1] in _SURROUNDING:
            end -= 1
        value = text[start:end]
        if not value or (self._plausible is not None and not self._plausible(value)):
            return None
        if self._filters and value not in set(self.plugin.analyze_string(value)):
            return None
        return Span(*self._widen(text, start, end), self.kind)

    def _widen(self, text: str, start: int, end: int) -> tuple[int, int]:
        """Where the secret really is, when the plugin's match covers only part of it."""
        return start, end


# The JWT plugin's pattern ends lazily, so it stops before the signature: cover all of it.
_JWT_TAIL: Final = re.compile(r"[A-Za-z0-9_\-.+/=]*")
# The private-key plugin matches only the "BEGIN ... PRIVATE KEY" header: cover the whole PEM
# block up to its END line (or the end of the text when the block was cut off).
_PEM_END: Final = re.compile(r"-----END[A-Z0-9 ]{0,40}-----")


class _JwtRule(_DetectorRule):
    def _widen(self, text: str, start: int, end: int) -> tuple[int, int]:
        tail = _JWT_TAIL.match(text, end)
        return start, tail.end() if tail else end


class _PrivateKeyRule(_DetectorRule):
    def _widen(self, text: str, start: int, end: int) -> tuple[int, int]:
        if text.endswith("-----", 0, start):
            start -= 5
        block_end = _PEM_END.search(text, end)
        return start, block_end.end() if block_end else len(text)


def _detector_rule(cls: type[Any]) -> _DetectorRule:
    if cls.__name__ == "JwtTokenDetector":
        return _JwtRule(cls())
    if cls.__name__ == "PrivateKeyDetector":
        return _PrivateKeyRule(cls())
    return _DetectorRule(cls())


# Word characters beyond this many in one run (see _QuotedKeywordRule).
_MAX_WORD: Final = 128
_LONG_WORD: Final = re.compile(rf"\w{{{_MAX_WORD + 1},}}")


def _bounded_words(text: str) -> str:
    """``text`` with each run of word characters cut to ``_MAX_WORD``, padded to keep offsets."""
    return _LONG_WORD.sub(lambda m: m[0][:_MAX_WORD] + "\0" * (len(m[0]) - _MAX_WORD), text)


class _QuotedKeywordRule:
    """detect-secrets' keyword rules for quoted values (``password = "x"``, ``"secret": "x"``).

    These are the regexes KeywordDetector uses for code and JSON; we run each with
    ``finditer`` because the plugin reports only the first hit of each. Their "keyword, then
    any word characters" parts backtrack quadratically on long words ("passwordpassword..."
    x 5000 takes seconds), so they scan a copy whose word runs are cut at ``_MAX_WORD``;
    offsets are unchanged.
    """

    kind = _SECRET_KEYWORD

    def find(self, text: str) -> Iterator[Span]:
        scanned = _bounded_words(text)
        for regex, group in ds_keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP.items():
            for match in regex.finditer(scanned):
                if match.group(group):
                    yield Span(*match.span(group), self.kind)


class _EntropyRule:
    """detect-secrets' Base64 entropy check, on quoted strings and on a whole bare value.

    Only quoted strings (the plugin's non-eager mode): unquoted, it flags plain words. A
    string that is entirely one Base64-alphabet token (a JSON value such as an API key) is
    treated as quoted.
    """

    def __init__(self, limit: float) -> None:
        self.plugin = Base64HighEntropyString(limit=limit)
        self.kind = _slug(self.plugin.secret_type)
        # One bare token: the charset minus "=", which may only pad the end (so a whole
        # "key=value" string is not mistaken for one token).
        charset = re.escape(self.plugin.charset.replace("=", ""))
        self._token = re.compile(f"[{charset}]+={{0,2}}")

    def find(self, text: str) -> Iterator[Span]:
        if self._token.fullmatch(text) and self._is_random(text):
            yield Span(0, len(text), self.kind)
            return
        for match in self.plugin.regex.finditer(text):
            if self._is_random(match.group(2)):
                yield Span(*match.span(2), self.kind)

    def _is_random(self, value: str) -> bool:
        entropy: float = self.plugin.calculate_shannon_entropy(value)
        return entropy > self.plugin.entropy_limit


# --- secret-looking keys ----------------------------------------------------------------

_KEY_WORD: Final = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# Whole words that name a secret, beyond detect-secrets' keyword list (which has no "token",
# "auth", "cookie" or "credentials").
_SECRET_WORDS: Final = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "cookie",
        "cookies",
        "credential",
        "credentials",
        "jwt",
        "passphrase",
        "passwd",
        "password",
        "secret",
        "secrets",
        "token",
    }
)
# Word pairs that name a key (access_key, signing_key, ...), as squashed lowercase text.
_SECRET_COMPOUNDS: Final = ("accesskey", "signingkey", "encryptionkey", "masterkey", "sessionkey")
# detect-secrets' keyword list (api_?key, private_?key, password, secret, pwd, ...).
_DS_KEYWORDS: Final = re.compile("|".join(ds_keyword.DENYLIST))
# A key ending in one of these describes a secret rather than holding one: token_count,
# max_tokens (no "token" word), password_length, secret_name, api_key_id, token_expires_at.
_DESCRIPTIVE_SUFFIXES: Final = frozenset(
    {
        "at",
        "avg",
        "bloat",
        "budget",
        "count",
        "counts",
        "expiry",
        "expires",
        "file",
        "id",
        "ids",
        "kind",
        "len",
        "length",
        "limit",
        "max",
        "mean",
        "median",
        "min",
        "name",
        "path",
        "pct",
        "percent",
        "rate",
        "ratio",
        "remaining",
        "share",
        "size",
        "stats",
        "sum",
        "threshold",
        "total",
        "ttl",
        "type",
        "url",
        "usage",
        "used",
    }
)
# Values that say a secret is absent or off ("auth=none", "token: null"): nothing to hide.
_ABSENT_VALUES: Final = frozenset({"null", "none", "nil", "undefined"})
_NUMBER: Final = re.compile(r"-?\d{1,18}(?:\.\d{1,18})?")
# For these keys the value is the rest of the header line ("Bearer abc", "a=1; b=2").
_WHOLE_LINE_WORDS: Final = frozenset({"authorization", "cookie", "cookies"})


def _key_words(key: str) -> list[str]:
    return [word.lower() for word in _KEY_WORD.findall(key)]


def is_secret_key(key: str) -> bool:
    """Whether a field or parameter named ``key`` holds a secret (``api_key``, ``X-Auth-Token``).

    Splits snake, kebab, dotted and camel case into words, so ``prompt_tokens`` and
    ``author`` are not secrets while ``sessionToken`` and ``DB_PASSWORD`` are.
    """
    return _names_secret(_key_words(key))


def _names_secret(words: list[str]) -> bool:
    if not words or words[-1] in _DESCRIPTIVE_SUFFIXES:
        return False
    squashed = "".join(words)
    return (
        any(word in _SECRET_WORDS for word in words)
        or any(compound in squashed for compound in _SECRET_COMPOUNDS)
        or _DS_KEYWORDS.search(squashed) is not None
    )


class _AssignmentRule:
    """``key=value`` / ``key: value`` (or ``=>``, ``:=``) pairs whose key names a secret.

    Fills two gaps of detect-secrets' KeywordDetector: it needs quotes around the value in
    code-like files (so ``password=hunter2`` and ``?access_token=...`` slip through) and
    its keyword list lacks token/auth/cookie. Unquoted values end at whitespace or a
    ``& , ;`` separator; Authorization and Cookie values run to the end of the line. A key
    naming a provider counts when the value has that provider's shape. Prose such as
    "invalid password: too short" loses one word ("too"): when in doubt we over-redact.
    """

    kind = _SECRET_KEYWORD
    _pair: Final = re.compile(
        r"""(?<![\w.-])-{0,2}(?P<key>[A-Za-z_][\w.-]{0,127})(?:\\{0,2}["'])?
        [ \t]{0,3}(?:=>|:=|:(?!//)|=)[ \t]{0,3}""",
        re.VERBOSE,
    )
    _value: Final = re.compile(
        r"""
            "(?P<dq>[^"\n]{0,512})"
          | '(?P<sq>[^'\n]{0,512})'
          | \\{1,2}"(?P<eq>[^"\n]{0,512}?)\\{1,2}"
          | (?:\\{0,2}["'])?(?P<bare>[^\s"'\\&,;]+)
        """,
        re.VERBOSE,
    )
    _line_end: Final = re.compile(r"[^\r\n\"']*")

    def find(self, text: str) -> Iterator[Span]:
        # Pairs are found one after another, so a value that is not a secret is still searched
        # for the pair that is ("error: password=hunter2"); a secret's value is skipped whole.
        redacted_to = 0
        for pair in self._pair.finditer(text):
            key = pair.group("key")
            if pair.start() < redacted_to or not _may_name_secret(key):
                continue
            value = self._value.match(text, pair.end())
            if value is None:
                continue
            group = next(g for g in ("dq", "sq", "eq", "bare") if value.group(g) is not None)
            if not holds_secret(key, _as_json_scalar(value.group(group))):
                continue
            start, end = value.span(group)
            if group == "bare" and _WHOLE_LINE_WORDS.intersection(_key_words(key)):
                rest = self._line_end.match(text, end)
                end = rest.end() if rest else end
            if start < end:
                redacted_to = end
                yield Span(start, end, self.kind)


@functools.lru_cache(maxsize=4096)
def _may_name_secret(key: str) -> bool:
    """Whether some value under ``key`` could be a secret (a cheap test before reading it).

    Cached: a log repeats the same keys, and a dense ``a=1 b=2 ...`` line has one per word.
    """
    return _names_secret(_key_words(key)) or names_a_provider(key)


def _as_json_scalar(value: str) -> object:
    """A value read from text, as the JSON scalar it spells (so text and data agree)."""
    lowered = value.lower()
    if lowered in _ABSENT_VALUES:
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if _NUMBER.fullmatch(value):
        return float(value)
    return value


def holds_secret(key: str, value: object) -> bool:
    """Whether ``value``, found under ``key`` (a field or a ``key=value`` pair), is a secret.

    Either the key names a secret (`is_secret_key`) or it names a provider and the value has
    that provider's credential shape (``"discord_client": "<32 characters>"``).
    """
    if value is None or isinstance(value, bool) or value in ("", [], {}):
        return False  # nothing to hide, and "the secret was missing" is evidence
    if isinstance(value, str) and names_provider_credential(key, value):
        return True
    words = _key_words(key)
    if isinstance(value, int | float):
        # LLM logs count tokens ({"token": 512}, "output_token": 80); credentials are strings.
        words = [word for word in words if word != "token"]
    return _names_secret(words)


def default_rules(entropy_limit: float = DEFAULT_ENTROPY_LIMIT) -> tuple[Rule, ...]:
    """Every rule, detect-secrets' first; overlapping hits are merged by the redactor."""
    rules: list[Rule] = [_detector_rule(cls) for cls in regex_detector_classes()]
    rules += [_QuotedKeywordRule(), _AssignmentRule(), _EntropyRule(entropy_limit)]
    rules += extra_rules()
    rules += PROVIDER_RULES
    return tuple(rules)
