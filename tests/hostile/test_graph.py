"""A hostile ``Graph.hs`` through ``graph`` and ``analyze --repo``: an unterminated string,
a missing ``]``, bytes that are not UTF-8, nesting 100,000 deep, bidi and zero-width
characters in names, NUL bytes; and a Graph.hs that is a FIFO, a directory or a link that
leads nowhere.

Each is read (exit 0, with every name shown inert) or refused in one line naming the file
or the checkout (exit 3, ``DslError``). Line endings and a BOM change nothing at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from .corpus import jsonl, valid_lines
from .outcome import (
    Outcome,
    assert_code_in,
    assert_error,
    assert_only_changed,
    assert_success,
    run_main,
    snapshot,
)
from .processes import run_tool
from inert import markdown_problems, terminal_problems
from specialfiles import make_dangling_symlink, make_symlink_loop

GRAPH = Path("src/Triage/Graph.hs")
DEPTH = 100_000


def _replacing(old: bytes, new: bytes) -> Callable[[Path], None]:
    def mutate(path: Path) -> None:
        data = path.read_bytes()
        assert old in data, f"{old!r} not in {path}"  # a mutation that did nothing proves nothing
        path.write_bytes(data.replace(old, new, 1))

    return mutate


def _deeply_nested(path: Path) -> None:
    data = path.read_bytes()
    old = b":@ UsesEffects RouteEffects"
    assert old in data
    deep_list = b"'[" * (DEPTH // 2) + b"]" * (DEPTH // 2)
    data = data.replace(old, b":@ UsesEffects " + deep_list)
    data += b"\ntype Deep = " + b"(" * DEPTH + b")" * DEPTH + b"\n"
    data += b"\ntype Deeper = '[" + b"{" * DEPTH + b"}" * DEPTH + b"]\n"
    path.write_bytes(data)


def _bidi_names(path: Path) -> None:
    data = path.read_text(encoding="utf-8")
    for old, new in [
        ("  , escalate :: mode", "  , escal\u202eate\u200b :: mode"),
        ('Goto "escalate" Escalation', 'Goto "escal\u202eate\u200b\x1b[31m" Escalation'),
        ('Goto "summarize" Draft]', 'Goto "summ\u2066arize\u2069" Draft]'),
    ]:
        assert old in data, old
        data = data.replace(old, new, 1)
    path.write_text(data, encoding="utf-8")


MUTATIONS: dict[str, Callable[[Path], None]] = {
    "unterminated-string": _replacing(
        b'Goto "route" Classification', b'Goto "route Classification'
    ),
    "missing-bracket": _replacing(
        b'\'[Goto "summarize" Draft]\n\n    -- | Refunds',
        b'\'[Goto "summarize" Draft\n\n    -- | Refunds',
    ),
    "unterminated-comment": _replacing(b"-- | Decide what kind", b"{- Decide what kind"),
    "invalid-utf8": _replacing(
        b"Decide what kind", b"Decide \xff\xfe\xc3\x28 what \xed\xa0\x80 kind"
    ),
    "invalid-utf8-in-a-name": _replacing(b'Goto "route"', b'Goto "ro\xffute"'),
    "deep-nesting": _deeply_nested,
    "bidi-names": _bidi_names,
    "nul-bytes": _replacing(b"  , route :: mode", b"  , ro\x00ute :: mode\x00"),
}


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "Inner.hs").write_text("module Inner where\n")


def _dangling(path: Path) -> None:
    path.unlink()
    make_dangling_symlink(path)


def _loop(path: Path) -> None:
    path.unlink()
    make_symlink_loop(path.parent, path.name)


SPECIAL: dict[str, Callable[[Path], None]] = {
    "directory": _directory,
    "dangling-symlink": _dangling,
    "symlink-loop": _loop,
}


def expect_read_or_refused(outcome: Outcome, repo: Path) -> None:
    assert_code_in(outcome, (0, 3))
    if outcome.returncode == 3:
        assert_error(outcome, 3)
        line = outcome.stderr_lines[-1]
        assert "Graph.hs" in line or str(repo) in line, f"names neither file nor checkout: {line}"


def _analyze_argv(sandbox: Path, repo: Path) -> list[str]:
    source = sandbox / "in" / "export.jsonl"
    source.write_bytes(jsonl(valid_lines()))
    return ["analyze", "--source", f"file:{source}", "--repo", str(repo), "--format", "markdown"]


@pytest.mark.parametrize("mutation", [*MUTATIONS, *SPECIAL])
def test_graph_reads_or_refuses_a_hostile_graph_hs_in_one_line(
    mutation: str,
    sandbox: Path,
    sample_repo: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """Text and JSON alike; the text, which goes to a terminal, carries no control,
    bidi or zero-width character."""
    {**MUTATIONS, **SPECIAL}[mutation](sample_repo / GRAPH)
    before = snapshot(sandbox)
    text = run_main(["graph", "--repo", str(sample_repo)], capsysbinary)
    expect_read_or_refused(text, sample_repo)
    if text.returncode == 0:
        assert terminal_problems(text.stdout.decode()) == []
    as_json = run_main(["graph", "--repo", str(sample_repo), "--format", "json"], capsysbinary)
    assert as_json.returncode == text.returncode, str(as_json)
    expect_read_or_refused(as_json, sample_repo)
    assert_only_changed(sandbox, before)


@pytest.mark.parametrize("mutation", [*MUTATIONS, *SPECIAL])
def test_analyze_with_a_hostile_graph_hs_reports_inert_markdown_or_refuses(
    mutation: str,
    sandbox: Path,
    sample_repo: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    {**MUTATIONS, **SPECIAL}[mutation](sample_repo / GRAPH)
    argv = _analyze_argv(sandbox, sample_repo)
    before = snapshot(sandbox)
    outcome = run_main(argv, capsysbinary)
    expect_read_or_refused(outcome, sample_repo)
    if outcome.returncode == 0:
        assert markdown_problems(outcome.stdout.decode()) == []
    assert_only_changed(sandbox, before)


@pytest.mark.parametrize(
    "mutation",
    [
        pytest.param(lambda data: data.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda data: b"\xef\xbb\xbf" + data, id="bom"),
    ],
)
def test_line_endings_and_a_bom_do_not_change_the_graph(
    mutation: Callable[[bytes], bytes],
    sandbox: Path,
    sample_repo: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """The same nodes, edges and ``file:line`` locations as the checkout as shipped."""
    argv = ["graph", "--repo", str(sample_repo), "--format", "json"]
    pristine = run_main(argv, capsysbinary)
    assert_success(pristine)
    for path in sample_repo.rglob("*.hs"):
        path.write_bytes(mutation(path.read_bytes()))
    changed = run_main(argv, capsysbinary)
    assert_success(changed)
    assert changed.stdout == pristine.stdout


@pytest.mark.slow
def test_a_fifo_named_graph_hs_blocks_nothing(
    tmp_path: Path, sample_repo: Path, env: dict[str, str]
) -> None:
    """A FIFO with no writer where Graph.hs should be: refused (4) or skipped, never
    waited on."""
    _fifo(sample_repo / GRAPH)
    argv = ["graph", "--repo", str(sample_repo)]
    outcome, _ = run_tool(argv, cwd=tmp_path, env=env, timeout=20)
    expect_read_or_refused(outcome, sample_repo)
