"""`micro-gastown logs` (being written)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("logs", help="(not yet available)")
    parser.set_defaults(func=lambda args: 0)
