"""An evolve run that honestly ends incomplete (exit 7), for the tests of what follows one:
``--resume``, settings kept on resume, a lost output run again, the INCOMPLETE exit code.

The bundled pipeline now completes (analyze, refine and file-pr are all built), so the
tests give ``--config-dir`` :func:`unfinishable_config`: the bundled evolve formula with one
more last step that runs a skill formula, ``announce``, which validates (its polecat and
output schema exist) but has no Python side. The engine records that step as failed
(unavailable, :data:`UNFINISHABLE_ERROR`) on every attempt, without counting an attempt,
so the run stays incomplete however often it is resumed, after every bundled step ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from micro_gastown.bundled import bundled_root

UNFINISHABLE_STEP: Final = "announce"
UNFINISHABLE_ERROR: Final = f"no skill {UNFINISHABLE_STEP!r}"
"""The run state's error for the extra step (the engine's words for a skill not built)."""

_SKILL_FORMULA: Final = f"""\
[formula]
name = "{UNFINISHABLE_STEP}"
version = "1.0.0"
description = "A skill formula with no Python skill: a step that runs it is unavailable."

[output]
type = "PRResult"

[execution]
polecat = "pr-filer"
"""

_LAST_STEP: Final = f"""
[[steps]]
id = "{UNFINISHABLE_STEP}"
title = "Announce the filed PR (a skill that is not built)"
needs = ["file-pr"]
skill = "{UNFINISHABLE_STEP}"
"""


def unfinishable_config(directory: Path) -> Path:
    """A config directory (made under ``directory``) for ``evolve --config-dir``: the
    bundled evolve formula plus the unavailable last step :data:`UNFINISHABLE_STEP`."""
    formulas = directory / "unfinishable-config" / "formulas"
    formulas.mkdir(parents=True)
    evolve = (bundled_root() / "formulas" / "evolve.formula.toml").read_text()
    (formulas / "evolve.formula.toml").write_text(evolve + _LAST_STEP)
    (formulas / f"{UNFINISHABLE_STEP}.formula.toml").write_text(_SKILL_FORMULA)
    return formulas.parent
