"""``python -m micro_gastown.action``: the composite action's one Python step.

Order matters: every credential in the environment is masked first (before a setting is
read, so no later line can show one), then the inputs are checked all at once, then the
command runs (:mod:`.stages`), then its outputs go to ``GITHUB_OUTPUT``, its critical
findings become warning annotations and the job summary is appended. One handler turns a
failure into ``::error::`` lines and the exit code of the CLI's table
(:class:`~micro_gastown.errors.ExitCode`); an exception that is not a MicroGastownError is a
bug: its traceback is printed with workflow commands paused, and the exit code is 70
(``EX_SOFTWARE``).

Only :func:`main` reads ``os.environ`` and ``sys.stdout``; :func:`run` takes them, so tests
hand it a dict and a buffer. Without ``GITHUB_OUTPUT``/``GITHUB_STEP_SUMMARY`` (a local
run) the outputs and the summary are printed instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Final, TextIO

from micro_gastown.action.commands import (
    AnnotationLevel,
    annotate,
    append_summary,
    group,
    mask,
    set_output,
    untrusted,
)
from micro_gastown.action.findings import annotate_critical
from micro_gastown.action.settings import (
    ActionCommand,
    ActionInputError,
    ActionSettings,
    secret_values,
)
from micro_gastown.action.stages import (
    StageResult,
    run_analyze,
    run_evolve,
    run_rollback_check,
)
from micro_gastown.action.summary import SummaryInputs, render_summary
from micro_gastown.errors import MicroGastownError
from micro_gastown.termination import Terminated

__all__ = ["BUG_EXIT", "main", "run"]

BUG_EXIT: Final = 70
"""An exception micro-gastown did not expect: a bug (sysexits' EX_SOFTWARE)."""
TITLE: Final = "micro-gastown"

Stage = Callable[[ActionSettings, Mapping[str, str], TextIO], StageResult]
STAGES: Final[Mapping[ActionCommand, Stage]] = {
    ActionCommand.ANALYZE: run_analyze,
    ActionCommand.EVOLVE: run_evolve,
    ActionCommand.ROLLBACK_CHECK: run_rollback_check,
}


def _error(message: str, out: TextIO, title: str = TITLE) -> None:
    annotate(AnnotationLevel.ERROR, message, title=title, stream=out)


def publish_outputs(outputs: Mapping[str, str], settings: ActionSettings, out: TextIO) -> None:
    """Each output into ``GITHUB_OUTPUT``, or printed (paused) on a local run."""
    if settings.output_file is not None:
        for name, value in outputs.items():
            set_output(name, value, path=settings.output_file)
        return
    untrusted("".join(f"output {name}={value}\n" for name, value in outputs.items()), stream=out)


def publish_summary(markdown: str, settings: ActionSettings, out: TextIO) -> None:
    """The job summary into ``GITHUB_STEP_SUMMARY``, or printed (paused) on a local run."""
    if settings.summary_file is not None:
        append_summary(markdown, path=settings.summary_file)
    else:
        untrusted(markdown, stream=out)


def run(settings: ActionSettings, environ: Mapping[str, str], out: TextIO) -> int:
    """Run the command ``settings`` names; its exit code. Raises MicroGastownError for a
    failure before a result exists (the caller reports it)."""
    result = STAGES[settings.command](settings, environ, out)
    with group("Outputs and summary", stream=out):
        publish_outputs(result.outputs, settings, out)
        publish_summary(render_summary(result.summary), settings, out)
    if result.report is not None:
        annotate_critical(result.report.patterns, stream=out)
    for failure in result.failures:
        _error(failure, out)
    return result.exit_code


def _report_failure(exc: MicroGastownError, settings: ActionSettings | None, out: TextIO) -> None:
    """The one-line error as an annotation, and in the summary when there is one."""
    _error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, out)
    if settings is not None:
        failed = SummaryInputs(settings.command, failure=str(exc))
        with contextlib.suppress(OSError):  # the annotation above already says what failed
            publish_summary(render_summary(failed), settings, out)


def main(environ: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """The entry point: mask, check the inputs, run, report; the exit code."""
    environ = os.environ if environ is None else environ
    out = sys.stdout if out is None else out
    for secret in secret_values(environ):
        mask(secret, stream=out)
    settings: ActionSettings | None = None
    try:
        settings = ActionSettings.from_environ(environ)
        return run(settings, environ, out)
    except ActionInputError as exc:
        for problem in exc.problems:
            _error(problem, out, title=f"{TITLE}: an input does not fit")
        return exc.exit_code
    except MicroGastownError as exc:
        _report_failure(exc, settings, out)
        return exc.exit_code
    except (KeyboardInterrupt, Terminated) as exc:
        _error("cancelled; an evolve run was saved as interrupted and can be resumed", out)
        return exc.code if isinstance(exc, Terminated) and isinstance(exc.code, int) else 130
    except Exception:
        _error(
            "an internal error (a bug in micro-gastown): the traceback is in the log; "
            "please report it",
            out,
        )
        untrusted(traceback.format_exc(), stream=out)
        return BUG_EXIT
