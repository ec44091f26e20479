"""The ``--source`` and ``--selector`` flags, the same in every command that reads logs."""

from __future__ import annotations

import argparse
import os
from typing import Any

from micro_gastown.logql import DEFAULT_SELECTOR

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
