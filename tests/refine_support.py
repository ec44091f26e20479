"""Shared pieces of the refine integration tests: a scripted model and the demo checkout.

:class:`ScriptedModel` is a cassette of the conditional-refiner: it plays a sequence of
answers, one per call, keeps every request it got (so a test can read the prompt and the
repair message), raises a given :class:`~micro_gastown.errors.LlmError` where the script
says so, and charges the meter the way a live backend does (``before`` with the call's
worst case, then ``after``), so budgets behave as in a real run.

:func:`demo_base` builds the demo report and a git copy of the bundled checkout once per
test module (``analyze`` over the demo logs takes about a second); :meth:`DemoBase.workspace`
gives each test its own ``git clone --local`` of it, cheap enough for every test. Git runs
with an empty global configuration and no system one, so no test reads this machine's
``~/.gitconfig``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.errors import LlmError
from micro_gastown.llm.base import CallRecord, LlmResponse, Meter, Usage
from micro_gastown.llm.base import LlmRequest as ModelRequest
from micro_gastown.llm.models import resolve_model
from micro_gastown.llm.output_schema import listed, output_errors, output_validator
from micro_gastown.llm.replay import Recording, request_key
from micro_gastown.report.model import PatternReport
from micro_gastown.testing.demo_refine import demo_checkout, demo_report

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Refine Test",
    "GIT_AUTHOR_EMAIL": "refine-test@example.invalid",
    "GIT_COMMITTER_NAME": "Refine Test",
    "GIT_COMMITTER_EMAIL": "refine-test@example.invalid",
}

WORKTREE_PREFIX = "micro-gastown-refine-"
"""How refine names the temporary directory of its worktree."""

Script = Mapping[str, Any] | LlmError
"""One call's answer: the structured output, or the error the call raises."""


# --------------------------------------------------------------------------------------
# The scripted model
# --------------------------------------------------------------------------------------


@dataclass
class ScriptedModel:
    """A backend that answers call N with ``script[N]``.

    ``received`` holds every request that reached :meth:`complete`; ``sent`` those that
    passed the meter's budget check (what a live backend would have sent to the API);
    ``entries`` the replay-file entries of the answered calls, keyed on the exact request.
    ``observe`` runs at each call, before the answer (to look at the disk mid-run).
    Every scripted answer is checked against the request's output schema, as a live
    backend checks the model's: a test cannot pass a shape no real answer could have."""

    script: Sequence[Script]
    name: str = "scripted"
    observe: Callable[[ModelRequest], None] | None = None
    received: list[ModelRequest] = field(default_factory=list)
    sent: list[ModelRequest] = field(default_factory=list)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    closed: bool = False

    def close(self) -> None:
        self.closed = True

    def complete(self, request: ModelRequest, meter: Meter) -> LlmResponse:
        self.received.append(request)
        call = len(self.received)
        if call > len(self.script):
            raise AssertionError(f"the scripted model got call {call}; it has {len(self.script)}")
        if self.observe is not None:
            self.observe(request)
        model = resolve_model(request.model)
        input_tokens = len(request.system) // 4 + len(request.prompt) // 4 + 1
        meter.before(model, input_tokens, request.max_tokens)
        self.sent.append(request)
        answer = self.script[call - 1]
        if isinstance(answer, LlmError):
            raise answer
        output = json.loads(json.dumps(answer))
        validator = output_validator(request)
        if validator is not None:
            errors = output_errors(validator, output)
            if errors:
                raise AssertionError(f"scripted answer {call} breaks the schema:\n{listed(errors)}")
        record = CallRecord(model, Usage(input_tokens, len(json.dumps(output)) // 4 + 1))
        meter.after(record)
        self.entries[request_key(request)] = Recording(output, (record,)).to_json()
        return LlmResponse(output, (record,))

    @property
    def prompts(self) -> list[str]:
        return [request.prompt for request in self.received]


def answer(*edits: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """A schema-valid answer holding ``edits`` (``summary`` and ``confidence`` filled in)."""
    return {
        "edits": [dict(e) for e in edits],
        "summary": fields.pop("summary", "a scripted change"),
        "confidence": fields.pop("confidence", "medium"),
        **fields,
    }


def edit(
    path: str,
    old_text: str,
    new_text: str,
    pattern_ids: Sequence[str],
    rationale: str = "scripted for a test",
) -> dict[str, Any]:
    return {
        "path": path,
        "old_text": old_text,
        "new_text": new_text,
        "rationale": rationale,
        "pattern_ids": list(pattern_ids),
    }


def write_replay(path: Path, entries: Mapping[str, Mapping[str, Any]]) -> Path:
    path.write_text(json.dumps(entries, indent=2, sort_keys=True), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# Git, isolated
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def isolated_git(directory: Path) -> Iterator[None]:
    """git with an empty global config, no system config, a fixed identity and no
    repository variables from outside, for as long as the block runs."""
    config = directory / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(config))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for name, value in GIT_IDENTITY.items():
            patch.setenv(name, value)
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG"):
            patch.delenv(name, raising=False)
        yield


def git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return str(done.stdout)


def commit(
    repo: Path,
    message: str,
    files: Mapping[str, str] | None = None,
    symlinks: Mapping[str, str] | None = None,
) -> None:
    """Write ``files`` (path -> text) and ``symlinks`` (path -> target) and commit them."""
    for rel, text in (files or {}).items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for rel, link_target in (symlinks or {}).items():
        link = repo / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(link_target)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--no-verify", "-m", message)


def is_clean(repo: Path) -> bool:
    return git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored") == ""


def worktrees(repo: Path) -> list[str]:
    listing = git(repo, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in listing.splitlines() if line.startswith("worktree ")]


# --------------------------------------------------------------------------------------
# The demo, once per module
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    """One test's copy: ``checkout`` (a clone of the base), ``report`` (the demo
    PatternReport JSON, the test's own copy), ``area`` (where refine's worktrees go while
    the test runs: point ``tempfile.tempdir`` at it) and ``out`` (outputs)."""

    root: Path
    checkout: Path
    report: Path
    area: Path
    out: Path

    def report_data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.report.read_text(encoding="utf-8"))
        return data

    def write_report(self, data: Mapping[str, Any]) -> None:
        self.report.write_text(json.dumps(data, indent=2), encoding="utf-8")

    def text(self, rel: str) -> str:
        return (self.checkout / rel).read_text(encoding="utf-8")


@dataclass(frozen=True)
class DemoBase:
    """The demo report and a git repository of the bundled checkout, never changed by a
    test: :meth:`workspace` clones it."""

    report: PatternReport
    report_path: Path
    checkout: Path

    def pattern_id(self, kind: str, node: str) -> str:
        """The id of the demo finding of type ``kind`` about ``node`` (ids carry a hash)."""
        found = [
            p.id
            for p in self.report.patterns
            if p.type.value == kind
            and (p.details.get("node") == node or node in p.details.get("nodes", {}))
        ]
        assert len(found) == 1, f"expected one {kind} finding of {node}, got {found}"
        return found[0]

    def workspace(self, directory: Path) -> Workspace:
        directory.mkdir(parents=True, exist_ok=True)
        checkout = directory / "checkout"
        git(directory, "clone", "--quiet", "--local", str(self.checkout), str(checkout))
        report = directory / "patterns.json"
        shutil.copyfile(self.report_path, report)
        area = directory / "worktree-area"
        out = directory / "out"
        area.mkdir()
        out.mkdir()
        return Workspace(directory, checkout, report, area, out)


@contextlib.contextmanager
def demo_base(directory: Path) -> Iterator[DemoBase]:
    """Build the demo report and checkout in ``directory``; git stays isolated while the
    block runs (use it from a module-scoped fixture, around every test of the module)."""
    with isolated_git(directory):
        report, report_path = demo_report(directory)
        checkout = demo_checkout(directory)
        yield DemoBase(report, report_path, checkout)


# --------------------------------------------------------------------------------------
# Looking at the disk
# --------------------------------------------------------------------------------------


def snapshot(root: Path, *, skip: Sequence[Path] = ()) -> dict[str, str]:
    """Every entry under ``root`` (but git's own ``.git`` directories and ``skip``):
    relative path -> a digest of its content or link target, to compare before/after."""
    skipped = {p.resolve() for p in skip}
    found: dict[str, str] = {}
    for directory, names, files in os.walk(root):
        here = Path(directory)
        names[:] = [n for n in names if n != ".git" and (here / n).resolve() not in skipped]
        for name in [*names, *files]:
            path = here / name
            if path.resolve() in skipped and not path.is_symlink():
                continue
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def files_containing(root: Path, needle: str, *, skip: Sequence[Path] = ()) -> list[str]:
    """Files under ``root`` (symlinks not followed, ``skip`` left out) whose bytes hold
    ``needle``."""
    skipped = {p.resolve() for p in skip}
    hits = []
    for directory, _, files in os.walk(root):
        for name in files:
            path = Path(directory) / name
            if path.is_symlink() or path.resolve() in skipped:
                continue
            if needle.encode("utf-8") in path.read_bytes():
                hits.append(path.relative_to(root).as_posix())
    return hits
