"""The benchmark's baseline: the least work any reader of a logcli export must do.

For each line: decode the outer JSON object, then the event JSON in its ``line`` field,
counting what fails. Nothing else, so ``analyze time / this time`` measures what the
analyzer adds on top of parsing.

Usage: ``.venv/bin/python bench/bare_parse.py EXPORT.jsonl[.gz]``
"""

from __future__ import annotations

import gzip
import sys
from typing import BinaryIO

import orjson


def _open(path: str) -> BinaryIO | gzip.GzipFile:
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: bare_parse.py EXPORT.jsonl[.gz]", file=sys.stderr)
        return 2
    lines = events = bad = 0
    with _open(argv[1]) as export:
        for line in export:
            lines += 1
            try:
                outer = orjson.loads(line)
                orjson.loads(outer["line"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                bad += 1
            else:
                events += 1
    print(orjson.dumps({"lines": lines, "events": events, "unparsable": bad}).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
