"""Render ``tests/data/secrets/gitleaks_corpus.toml``: fake, real-shaped secrets in log lines.

How the corpus was built. ``[source].rules`` is the list of rule ids of gitleaks' generated
default configuration (``config/gitleaks.toml`` of gitleaks/gitleaks at ``[source].commit``).
Each ``[[example]]`` (one or more per rule) was written by hand from the rule's regex:

* ``spec``: the shape of a secret the rule matches: literal text plus ``{alphabet:length}``
  fields (``ghp_{an:36}``: ``ghp_`` and 36 letters or digits) or ``{uuid}``, ``{jwt}``;
* ``template``: a log line as the secret would appear in an ExoMonad log (an HTTP error, a
  config dump, a tool result, a JSON event), with ``{s}`` where the secret goes.

This tool fills in ``secret`` (random text of the spec, from a generator seeded by the rule id
and the example's position, so the output is stable) and ``line`` (the template around it).
No value is a real credential. Each secret carries a cut mark (``[source].cut``) after its
literal prefix, which the tests delete: without it the data file itself would trip secret
scanners (GitHub push protection, pre-commit hooks).

``[[extra]]`` entries are formats the issue names (connection strings) beyond gitleaks' rules;
they are tested the same way but not counted in the coverage figure.

Run ``.venv/bin/python tools/gitleaks_corpus.py`` after editing a spec or template.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import sys
import tomllib
from pathlib import Path
from typing import Any

CORPUS = (
    Path(__file__).resolve().parent.parent / "tests" / "data" / "secrets" / "gitleaks_corpus.toml"
)

ALPHABETS = {
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "an": string.ascii_letters + string.digits,
    "la": string.ascii_lowercase + string.digits,
    "ua": string.ascii_uppercase + string.digits,
    "d": string.digits,
    "b64": string.ascii_letters + string.digits + "+/",
    "u": string.ascii_letters + string.digits + "_-",
    "ll": string.ascii_lowercase,
    "l": string.ascii_letters,
    "bech": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",  # bech32, upper case (age keys)
}
FIELD = re.compile(r"\{(\w+)(?::(\d+))?\}")
ENTRY_KEYS = ("rule", "category", "covered", "why", "spec", "template", "secret", "line")

HEADER = """\
# Rendered by tools/gitleaks_corpus.py from each entry's spec and template (see its docstring).
#
# One or more fake, real-shaped secrets per rule of gitleaks' default configuration, each in a
# log line as it would appear in an ExoMonad log. `secret` is the exact text redaction must
# remove from `line`; both carry a cut mark ([source].cut) that the loader deletes, which keeps
# this file from tripping secret scanners (every value is random). `covered = false` says why.
"""


def _random(rng: random.Random, alphabet: str, length: int) -> str:
    """Random text of ``alphabet`` that mixes letters and digits when the alphabet has both."""
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(length))
        has_digit = any(c.isdigit() for c in value) or not any(c.isdigit() for c in alphabet)
        has_alpha = any(c.isalpha() for c in value) or not any(c.isalpha() for c in alphabet)
        if (has_digit and has_alpha) or length < 4:
            return value


def _b64url_json(data: object) -> str:
    text = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _special(rng: random.Random, name: str) -> str:
    if name in ("uuid", "UUID"):
        digits = ALPHABETS["hex" if name == "uuid" else "HEX"]
        return "-".join(_random(rng, digits, n) for n in (8, 4, 4, 4, 12))
    if name == "jwt":
        header = _b64url_json({"alg": "HS256", "typ": "JWT"})
        payload = _b64url_json(
            {"sub": "svc-" + _random(rng, ALPHABETS["la"], 8), "iat": 1767225600}
        )
        return f"{header}.{payload}.{_random(rng, ALPHABETS['u'], 43)}"
    if name == "jwtb64":
        return base64.b64encode(_special(rng, "jwt").encode()).decode()
    raise ValueError(f"unknown field {{{name}}}")


def render_secret(spec: str, seed: str, cut: str) -> str:
    """A secret of ``spec``, with ``cut`` where the spec puts it, else after its literal prefix."""
    rng = random.Random(seed)
    cut_at = spec.find(cut)
    spec = spec.replace(cut, "")
    parts: list[str] = []
    position = 0
    for match in FIELD.finditer(spec):
        parts.append(spec[position : match.start()])
        if cut_at < 0 and match.start() > 0:
            cut_at = len("".join(parts))
        name, length = match.group(1), match.group(2)
        parts.append(_random(rng, ALPHABETS[name], int(length)) if length else _special(rng, name))
        position = match.end()
    parts.append(spec[position:])
    secret = "".join(parts)
    cut_at = cut_at if cut_at > 0 else len(secret) // 2
    return secret[:cut_at] + cut + secret[cut_at:]


def _toml_value(value: object) -> str:
    """A TOML value: multi-line literal strings for text with newlines, else JSON-compatible."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and "\n" in value and "'''" not in value:
        return "'''\n" + value + "'''"
    return json.dumps(value, ensure_ascii=False)


def _table(name: str, entry: dict[str, Any]) -> str:
    rows = [f"[[{name}]]"]
    rows += [f"{key} = {_toml_value(entry[key])}" for key in ENTRY_KEYS if key in entry]
    return "\n".join(rows)


def render(corpus: dict[str, Any]) -> str:
    source = corpus["source"]
    cut = source["cut"]
    for table in ("example", "extra"):
        for index, entry in enumerate(corpus[table]):
            seed = f"{entry['rule']}:{index}" if table == "example" else f"extra:{entry['rule']}"
            entry["secret"] = render_secret(entry["spec"], seed, cut)
            entry["line"] = entry["template"].replace("{s}", entry["secret"])
    rules = "".join(f"    {json.dumps(rule)},\n" for rule in source["rules"])
    head = [
        HEADER,
        "[source]",
        *(
            f"{key} = {json.dumps(source[key], ensure_ascii=False)}"
            for key in ("repo", "path", "commit", "cut")
        ),
        f"rules = [\n{rules}]\n",
    ]
    tables = [_table("example", e) for e in corpus["example"]] + [
        _table("extra", e) for e in corpus["extra"]
    ]
    return "\n".join(head) + "\n" + "\n\n".join(tables) + "\n"


def check(corpus: dict[str, Any]) -> None:
    rules = set(corpus["source"]["rules"])
    examples = {entry["rule"] for entry in corpus["example"]}
    if rules != examples:
        raise SystemExit(
            f"rules without an example or examples of no rule: {sorted(rules ^ examples)}"
        )
    for entry in corpus["example"]:
        if not entry["covered"] and not entry.get("why"):
            raise SystemExit(f"{entry['rule']}: an uncovered rule needs a why")


def main() -> int:
    corpus = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    check(corpus)
    text = render(corpus)
    if tomllib.loads(text) != corpus:  # what we write must read back as what we rendered
        raise SystemExit("the rendered corpus does not round-trip through TOML")
    CORPUS.write_text(text, encoding="utf-8")
    print(f"{CORPUS}: {len(corpus['source']['rules'])} rules, {len(corpus['example'])} examples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
