"""The ``--source`` and ``--selector`` flags, the same in every command that reads logs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from micro_gastown.errors import UsageError
from micro_gastown.logql import DEFAULT_SELECTOR
from micro_gastown.sources import is_file_source

SOURCE_HELP = (
    "file:PATH (a logcli --output=jsonl export, .gz allowed), loki (address and credentials "
    "from GRAFANA_LOKI_URL / LOKI_ADDR and the environment) or loki:URL"
)


def add_source_flags(parser: argparse.ArgumentParser | Any, *, required: bool = False) -> None:
    """``--source`` (required, or defaulting to env MICRO_GASTOWN_SOURCE, else ``loki``) and
    ``--selector`` (env MICRO_GASTOWN_SELECTOR, else ExoMonad's job selector)."""
    if required:
        parser.add_argument("--source", required=True, metavar="SPEC", help=SOURCE_HELP)
    else:
        parser.add_argument(
            "--source",
            default=os.environ.get("MICRO_GASTOWN_SOURCE", "loki"),
            metavar="SPEC",
            help=f"{SOURCE_HELP} (env MICRO_GASTOWN_SOURCE; default loki)",
        )
    parser.add_argument(
        "--selector",
        default=os.environ.get("MICRO_GASTOWN_SELECTOR", DEFAULT_SELECTOR),
        help=f"base LogQL stream selector (env MICRO_GASTOWN_SELECTOR; default {DEFAULT_SELECTOR})",
    )


def refuse_output_over_source(source: str, output: Path | None) -> None:
    """An ``--output`` that is the ``file:`` export itself (by any name or link) would
    replace the logs with the result: refused before anything is read. Only a regular
    file can be replaced; a terminal that is both stdin and stdout is not this mistake."""
    if output is None or not is_file_source(source) or not output.is_file():
        return
    try:
        same = os.path.samefile(source.partition(":")[2], output)
    except OSError:  # either one missing or unreadable: the reader and writer say so
        return
    if same:
        raise UsageError(f"--output {output}: is the --source file itself; write elsewhere")
