"""Mask the variable parts of a log message before it is clustered.

Drain compares messages token by token, so "timeout after 30000 ms" and "timeout after 29871
ms" only look alike once the numbers are gone; a quoted value or a path with spaces would even
change the token count. Masking replaces each variable span with a named placeholder
(``<NUM>``, ``<URL>``, ...) first, Drain3 style; `to_wildcards` turns the placeholders into the
``<*>`` wildcards users see (the form Drain writes its own wildcards in).

Rules run in order, each on the output of the previous one, most specific first: a URL
contains a path, a path and a timestamp contain numbers, so URL before path before number.
Every pattern is anchored on a boundary and built from bounded or non-overlapping pieces, so
masking stays linear in the message length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_RULES", "WILDCARD", "MaskRule", "Masker", "to_wildcards"]

WILDCARD: Final = "<*>"


@dataclass(frozen=True, slots=True)
class MaskRule:
    """Replace every match of ``pattern`` with ``<name>``.

    ``hints`` lets a message skip the regex cheaply: the rule runs only if one of them occurs
    in the message (empty means always). ``needs_digit`` skips messages without a digit.
    """

    name: str
    pattern: re.Pattern[str]
    hints: tuple[str, ...] = ()
    needs_digit: bool = False

    @property
    def placeholder(self) -> str:
        return f"<{self.name}>"


def _rule(name: str, pattern: str, *hints: str, needs_digit: bool = False) -> MaskRule:
    return MaskRule(name, re.compile(pattern, re.VERBOSE), hints, needs_digit)


# Boundaries: a variable part starts and ends where an alphanumeric run does, so "v2" and
# "3rd" stay, while "node_3" and "worker-7" become "node_<NUM>" and "worker-<NUM>".
_START = r"(?<![A-Za-z0-9])"
_END = r"(?![A-Za-z0-9])"
_UNIT = r"(?:ns|us|µs|ms|s|m|h|d)"
_CLOCK = r"\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = f"(?:{'|'.join(_MONTHS)})"
# Last labels of a host name: common top-level domains and internal ones. Each is also a
# hint (".local" is in ".localdomain"), so a message without any skips the HOST rule.
_HOST_SUFFIXES = (
    "com", "net", "org", "io", "dev", "cloud", "edu", "gov",
    "local", "localdomain", "internal", "lan", "corp", "intra", "intranet", "svc",
)  # fmt: skip
_HOST_HINTS = tuple(
    f".{suffix}" for suffix in _HOST_SUFFIXES if suffix not in ("localdomain", "intranet")
)
_WEEKDAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"


def _prose() -> str:
    """A lookahead refusing a double-quoted run of three words or more of letters only,
    unless it is a key's value (``key="..."``, ``key = "..."``): a structured logger
    (Kubernetes' klog, logfmt) double-quotes its constant message, ``"Error syncing pod,
    skipping"``, and masking it would leave nothing of the message to cluster on. Digits,
    slashes or other symbols mark a value (a request line, a user agent) and stay masked,
    and so does anything single-quoted: that is how messages quote a value (``'bob smith'``,
    Postgres' ``'a value'``), whatever its words."""
    word = r"[A-Za-z][A-Za-z(),:;.!?'-]*"
    return rf'(?!(?<!=")(?<!=\ ")(?:{word}\ +){{2,}}{word}")'


DEFAULT_RULES: Final[tuple[MaskRule, ...]] = (
    # scheme://anything up to whitespace or a quote, minus trailing sentence punctuation.
    _rule(
        "URL",
        r"\b[A-Za-z][A-Za-z0-9+.-]{0,15}://[^\s\"'<>]*[^\s\"'<>.,;:!?)\]}]",
        "://",
    ),
    _rule(
        "EMAIL",
        r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-])",
        "@",
    ),
    # Dates written with a month's name: syslog's "Jun 14 15:16:01", ctime's "Wed Oct 11
    # 14:32:52.123456 2024", the access log's "10/Oct/2024:13:55:36 -0700". Masked whole:
    # the month and weekday are words, which Drain would otherwise take for constants.
    _rule(
        "TIMESTAMP",
        rf"""{_START}(?:
            (?:{_WEEKDAY},?\ )?{_MONTH}\ {{1,2}}\d{{1,2}}(?:,?\ \d{{4}})?\ {_CLOCK}(?:\ \d{{4}})?
          | \d{{1,2}}/{_MONTH}/\d{{4}}:{_CLOCK}(?:\ [+-]\d{{4}})?
        ){_END}""",
        *_MONTHS,
        needs_digit=True,
    ),
    # ISO 8601 date or date-time (2024-06-01, 2024-06-01T12:30:45.123Z, ... +02:00; nginx
    # writes 2024/06/01 12:30:45), or a bare clock time (12:30:45.123).
    _rule(
        "TIMESTAMP",
        rf"""{_START}(?:
            \d{{4}}([-/])\d{{2}}\1\d{{2}}
            (?:[T\ ]\d{{2}}:\d{{2}}(?::\d{{2}}(?:[.,]\d{{1,9}})?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?
          | {_CLOCK}
        ){_END}""",
        "-",
        ":",
        needs_digit=True,
    ),
    _rule(
        "UUID",
        rf"{_START}[0-9a-fA-F]{{8}}-(?:[0-9a-fA-F]{{4}}-){{3}}[0-9a-fA-F]{{12}}{_END}",
        "-",
    ),
    # IPv4 with an optional port. The first digit is matched before the boundary is checked
    # behind it, which lets the regex engine skip ahead to digits (5x faster).
    _rule(
        "IP",
        r"\d(?<![A-Za-z0-9.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?::\d{1,5})?(?![A-Za-z0-9]|\.\d)",
        ".",
    ),
    # IPv6: hex groups and at least two colons, with a digit somewhere ("fe80::1", "::1").
    _rule(
        "IP",
        r"""(?<![\w:.])(?=[0-9A-Fa-f:]{0,39}\d)(?=(?:[0-9A-Fa-f]{0,4}:){2})
        [0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])""",
        ":",
        needs_digit=True,
    ),
    # Host names: two labels or more ending in a common top-level or internal domain
    # (api.example.com, db-2.prod.internal, web-1.svc.cluster.local), with an optional port.
    # Lower case only, so Java and Python names (java.net.ConnectException) stay.
    _rule(
        "HOST",
        rf"""(?<![\w.@/-])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.){{1,8}}
        (?:{"|".join(sorted(_HOST_SUFFIXES, key=len, reverse=True))})
        (?::\d{{1,5}})?(?![\w-]|\.\w)""",
        *_HOST_HINTS,
    ),
    # /abs/path (two segments or more: "/health" is a route name, not a variable),
    # ~/x, ./x, ../x, C:\x\y, and relative paths ending in a file name (src/Graph.hs).
    _rule(
        "PATH",
        r"""(?<![\w./~-])(?:
            (?:~|\.{1,2})?(?:/[\w.@+-]+){2,}/?
          | (?:~|\.{1,2})/[\w.@+-]+/?
          | [A-Za-z]:\\(?:[\w.@+-]+(?:\ [\w.@+()-]+)*\\)*[\w.@+-]*
          | [\w.-]+(?:/[\w.@+-]+)+\.[A-Za-z0-9]{1,8}(?![\w/])
        )""",
        "/",
        "\\",
    ),
    # 0x-prefixed; 8+ hex digits of one case mixing letters and digits (span ids, SHAs:
    # "deadbeef"-like words stay, digit-only runs are numbers); any 16+ of one case (no
    # word is that long in a-f only, and a random 64-bit id can lack digits).
    _rule(
        "HEX",
        rf"""{_START}(?:
            0[xX][0-9a-fA-F]+
          | (?=[a-f]*\d)(?=\d*[a-f])[0-9a-f]{{8,}}
          | (?=[A-F]*\d)(?=\d*[A-F])[0-9A-F]{{8,}}
          | [0-9a-f]{{16,}}
          | [0-9A-F]{{16,}}
        ){_END}""",
    ),
    # 'value' or "value" on one line, not an apostrophe inside a word ("can't", "users'").
    # A JSON/dict key keeps its text: a quoted string right after "{" or "," (a key
    # position) that is followed by ":" is left alone, while "field 'f': expected" is
    # masked. The quote comes first and the boundary is checked behind it, so the regex
    # engine can skip straight to quotes.
    _rule(
        "QUOTED",
        rf"""(?:
            '(?<![\w']')
            (?: (?<![{{,]')(?<![{{,]\ ')[^'\n]{{1,256}}'(?![\w'])
              | [^'\n]{{1,256}}'(?![\w'])(?!\s*:) )
          | "(?<![\w"\\]"){_prose()}
            (?: (?<![{{,]")(?<![{{,]\ ")[^"\n]{{1,256}}"(?![\w"])
              | [^"\n]{{1,256}}"(?![\w"])(?!\s*:) )
        )""",
        "'",
        '"',
    ),
    # 300ms, 1.5s, 2m30s, 1h2m3s.
    _rule(
        "DURATION",
        rf"{_START}(?<!\.)\d+(?:\.\d+)?{_UNIT}(?:\d+(?:\.\d+)?{_UNIT})*{_END}",
        needs_digit=True,
    ),
    # Integers, decimals, exponents, dotted versions (1.2.3); a sign only where it cannot be
    # a hyphen (after a space, bracket, "=", ":" or ","), so "worker-7" keeps its dash.
    _rule(
        "NUM",
        rf"""{_START}(?<!\.)
        (?:(?<![^\s(\[{{=:,])[-+])?
        \d+(?:\.\d+)*(?:[eE][-+]?\d+)?
        (?![A-Za-z0-9]|\.\d)""",
        needs_digit=True,
    ),
)

_DIGIT: Final = re.compile(r"\d")


class Masker:
    """Applies mask rules in order; placeholders of earlier rules are never re-masked."""

    def __init__(self, rules: Sequence[MaskRule] = DEFAULT_RULES) -> None:
        self.rules = tuple(rules)
        names = "|".join(re.escape(rule.name) for rule in self.rules)
        self._placeholders = re.compile(rf"<(?:{names})>")

    def mask(self, message: str) -> str:
        has_digit = _DIGIT.search(message) is not None
        for rule in self.rules:
            if rule.needs_digit and not has_digit:
                continue
            if rule.hints and not any(hint in message for hint in rule.hints):
                continue
            message = rule.pattern.sub(rule.placeholder, message)
        return message

    def to_wildcards(self, masked: str) -> str:
        """``masked`` with every placeholder of these rules written ``<*>``."""
        return self._placeholders.sub(WILDCARD, masked)


_DEFAULT_MASKER: Final = Masker()


def to_wildcards(masked: str) -> str:
    """``masked`` (by the default rules) with every placeholder written ``<*>``."""
    return _DEFAULT_MASKER.to_wildcards(masked)
