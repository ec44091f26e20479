"""Run ``action.yml``'s composite steps the way the Actions runner does, on this machine.

For each ``run:`` step: its ``env:`` evaluated (:mod:`.expressions`), fresh
``GITHUB_OUTPUT``/``GITHUB_ENV``/``GITHUB_PATH``/``GITHUB_STEP_SUMMARY`` files,
``GITHUB_ACTION_PATH``, ``GITHUB_WORKSPACE`` and ``RUNNER_TEMP`` set, the script written to
a file and run as ``shell: bash`` runs it (``bash --noprofile --norc -eo pipefail {0}``) in
the workspace; then the files are read back the runner's way (``tests/runnerprotocol.py``):
step outputs kept for ``steps.ID.outputs``, ``GITHUB_ENV`` and ``GITHUB_PATH`` carried to
later steps, the summaries concatenated, and stdout and stderr read for workflow commands
(masks, groups, annotations; nothing acted on while commands are stopped). A failing step
ends the run, as a composite step without ``if:`` does.

``uses:`` steps: only ``actions/setup-python`` is known, simulated (its pinned ref and
``with:`` recorded, a Python put on PATH); any other action, and any key the harness does
not model (``if:``, ``continue-on-error``...), fails loudly.

Two ways to install (:class:`Install`): ``REAL`` runs the action's install step for real
into a fresh virtualenv that the simulated setup-python made; ``CHECKOUT_VENV`` puts this
checkout's ``.venv/bin`` on PATH instead and does not run the step with ``id: install``
(the only step it replaces), which keeps a test fast and offline.
"""

from __future__ import annotations

import os
import subprocess
import venv
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Final

import yaml

from actionrun.expressions import Context, UnsupportedExpression, evaluate
from runnerprotocol import Command, runner_commands, runner_file_pairs

__all__ = ["ActionRun", "HarnessError", "Install", "StepRun", "run_action"]

SETUP_PYTHON: Final = "actions/setup-python"
CACHE: Final = "actions/cache"
"""Stood in for by a miss: nothing restored, nothing saved (its inputs are still evaluated,
so an expression the harness does not model fails the run)."""
INSTALL_STEP: Final = "install"
BASH: Final = ("bash", "--noprofile", "--norc", "-eo", "pipefail")
"""What the runner runs for ``shell: bash`` (the script's path appended)."""
STEP_TIMEOUT: Final = 280
_RUN_KEYS: Final = frozenset({"name", "id", "shell", "env", "run", "working-directory"})
_USES_KEYS: Final = frozenset({"name", "id", "uses", "with", "env"})
ANNOTATIONS: Final = frozenset({"error", "warning", "notice"})


class HarnessError(RuntimeError):
    """action.yml asks for something this harness does not model."""


class Install(Enum):
    REAL = "real"
    CHECKOUT_VENV = "checkout-venv"


@dataclass(frozen=True)
class StepRun:
    name: str
    id: str | None
    uses: str | None = None
    with_: dict[str, str] = field(default_factory=dict)
    script: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    commands: tuple[Command, ...] = ()
    replaced: bool = False
    """Not run: the harness stood in for it (setup-python, or the install step)."""


def _stood_in(number: int, step: Mapping[str, Any], with_: dict[str, str]) -> StepRun:
    """A ``uses:`` step the harness stood in for, as it reports it."""
    return StepRun(
        name=str(step.get("name", f"step {number}")),
        id=step.get("id"),
        uses=str(step["uses"]),
        with_=with_,
        returncode=0,
        replaced=True,
    )


@dataclass(frozen=True)
class ActionRun:
    steps: tuple[StepRun, ...]
    outputs: dict[str, str]
    summary: str
    failed: bool

    @property
    def commands(self) -> list[Command]:
        return [command for step in self.steps for command in step.commands]

    @property
    def masks(self) -> list[str]:
        return [c.data for c in self.commands if c.name == "add-mask"]

    @property
    def annotations(self) -> list[Command]:
        return [c for c in self.commands if c.name in ANNOTATIONS]

    @property
    def groups(self) -> list[str]:
        return [c.data for c in self.commands if c.name == "group"]

    def step(self, step_id: str) -> StepRun:
        (found,) = [s for s in self.steps if s.id == step_id]
        return found


def _inputs(
    declared: Mapping[str, Any], given: Mapping[str, str], context: Context
) -> dict[str, str]:
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise HarnessError(f"not inputs of the action: {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            if not isinstance(given[name], str):
                raise HarnessError(f"input {name}: a workflow passes strings")
            values[name] = given[name]
        else:
            values[name] = evaluate(str((spec or {}).get("default", "")), context)
    return values


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8") if path.exists() else ""


@dataclass
class _Runner:
    action_dir: Path
    workspace: Path
    runner_temp: Path
    base_env: dict[str, str]
    install: Install
    checkout_venv: Path
    context: Context
    carried_env: dict[str, str] = field(default_factory=dict)
    added_path: list[str] = field(default_factory=list)
    step_outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def _context(self) -> Context:
        return Context(
            inputs=self.context.inputs,
            action_path=self.context.action_path,
            runner_temp=self.context.runner_temp,
            token=self.context.token,
            step_outputs=self.step_outputs,
        )

    def _evaluated(self, mapping: Mapping[str, Any] | None) -> dict[str, str]:
        return {str(k): evaluate(str(v), self._context()) for k, v in (mapping or {}).items()}

    def setup_python(self, number: int, step: Mapping[str, Any]) -> StepRun:
        with_ = self._evaluated(step.get("with"))
        if self.install is Install.CHECKOUT_VENV:
            bin_dir = self.checkout_venv / "bin"
        else:
            target = self.runner_temp / "setup-python" / "venv"
            venv.EnvBuilder(with_pip=True).create(target)
            bin_dir = target / "bin"
        self.added_path.insert(0, str(bin_dir))
        return _stood_in(number, step, with_)

    def cache_miss(self, number: int, step: Mapping[str, Any]) -> StepRun:
        with_ = self._evaluated(step.get("with"))
        if not with_.get("path") or not with_.get("key"):
            raise HarnessError(f"step {number}: actions/cache without a path or a key: {with_}")
        return _stood_in(number, step, with_)

    def run_step(self, number: int, step: Mapping[str, Any]) -> StepRun:
        name = str(step.get("name", f"step {number}"))
        if step.get("shell") != "bash":
            raise HarnessError(f"{name}: a composite run step needs shell: bash here")
        env = self._evaluated(step.get("env"))
        script = evaluate(str(step["run"]), self._context())
        if self.install is Install.CHECKOUT_VENV and step.get("id") == INSTALL_STEP:
            return StepRun(name, INSTALL_STEP, script=script, env=env, returncode=0, replaced=True)
        files = self.runner_temp / "_runner_file_commands" / str(number)
        files.mkdir(parents=True)
        paths = {
            variable: files / variable.lower()
            for variable in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
        }
        for path in paths.values():
            path.touch()
        script_file = files / "script.sh"
        script_file.write_text(script, encoding="utf-8")
        process_env = {**self.base_env, **self.carried_env, **env}
        process_env.update({variable: str(path) for variable, path in paths.items()})
        process_env.update(
            GITHUB_ACTION_PATH=str(self.action_dir),
            GITHUB_WORKSPACE=str(self.workspace),
            RUNNER_TEMP=str(self.runner_temp),
            GITHUB_ACTIONS="true",
            CI="true",
        )
        process_env["PATH"] = os.pathsep.join([*self.added_path, process_env.get("PATH", "")])
        cwd = self.workspace / evaluate(str(step.get("working-directory", ".")), self._context())
        done = subprocess.run(
            [*BASH, str(script_file)],
            capture_output=True, text=True, check=False,
            timeout=STEP_TIMEOUT, cwd=cwd, env=process_env,
        )  # fmt: skip
        outputs = dict(runner_file_pairs(_read(paths["GITHUB_OUTPUT"])))
        self.carried_env.update(runner_file_pairs(_read(paths["GITHUB_ENV"])))
        for line in _read(paths["GITHUB_PATH"]).splitlines():
            if line.strip():
                self.added_path.insert(0, line.strip())
        if step.get("id"):
            self.step_outputs[str(step["id"])] = outputs
        commands = (*runner_commands(done.stdout), *runner_commands(done.stderr))
        return StepRun(
            name, step.get("id"), script=script, env=env, returncode=done.returncode,
            stdout=done.stdout, stderr=done.stderr, outputs=outputs, commands=commands,
        )  # fmt: skip

    def summary(self, number: int) -> str:
        path = self.runner_temp / "_runner_file_commands" / str(number) / "github_step_summary"
        return _read(path)


def run_action(
    action_dir: Path,
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    runner_temp: Path,
    environ: Mapping[str, str],
    install: Install = Install.CHECKOUT_VENV,
    checkout_venv: Path | None = None,
    github_token: str = "",
) -> ActionRun:
    """Run ``action_dir/action.yml`` with ``inputs`` (as a workflow's ``with:``) over the
    process environment ``environ``; what the runner would have seen."""
    action = yaml.safe_load((action_dir / "action.yml").read_text(encoding="utf-8"))
    runs = action.get("runs", {})
    if runs.get("using") != "composite":
        raise HarnessError("only composite actions")
    base = Context({}, str(action_dir), str(runner_temp), github_token)
    values = _inputs(action.get("inputs", {}), inputs, base)
    runner_temp.mkdir(parents=True, exist_ok=True)
    runner = _Runner(
        action_dir=action_dir,
        workspace=workspace,
        runner_temp=runner_temp,
        base_env=dict(environ),
        install=install,
        checkout_venv=checkout_venv or action_dir / ".venv",
        context=Context(values, str(action_dir), str(runner_temp), github_token),
    )
    steps: list[StepRun] = []
    summaries: list[str] = []
    failed = False
    for number, step in enumerate(runs.get("steps", []), start=1):
        if "uses" in step:
            extra = set(step) - _USES_KEYS
            uses = str(step["uses"])
            if not extra and uses.startswith(f"{CACHE}@"):
                steps.append(runner.cache_miss(number, step))
                continue
            if extra or not uses.startswith(f"{SETUP_PYTHON}@"):
                raise HarnessError(f"step {number}: cannot run {step['uses']} {sorted(extra)}")
            steps.append(runner.setup_python(number, step))
            continue
        extra = set(step) - _RUN_KEYS
        if extra or "run" not in step:
            raise HarnessError(f"step {number}: keys the harness does not model: {sorted(extra)}")
        ran = runner.run_step(number, step)
        steps.append(ran)
        summaries.append(runner.summary(number))
        if ran.returncode != 0:
            failed = True
            break
    try:
        outputs = {
            name: evaluate(str(spec.get("value", "")), runner._context())
            for name, spec in (action.get("outputs") or {}).items()
        }
    except UnsupportedExpression as exc:
        raise HarnessError(str(exc)) from None
    return ActionRun(tuple(steps), outputs, "".join(summaries), failed)
