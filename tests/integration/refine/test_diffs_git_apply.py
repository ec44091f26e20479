"""``git apply`` accepts every diff code writes and reproduces the new text byte for byte:
missing final newlines, CRLF and lone CR, empty files, names git has to quote."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micro_gastown.refine.diffs import combined, file_diff


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """git that reads no config of this machine and finds no repository above tmp_path."""
    config = tmp_path / "gitconfig"
    config.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def git_apply(directory: Path, patch: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "apply", "-"],
        cwd=directory,
        input=patch.encode("utf-8"),
        capture_output=True,
        check=False,
        timeout=60,
    )


def round_trip(base: Path, files: dict[str, tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory(dir=base) as name:
        directory = Path(name)
        for path, (old, _) in files.items():
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(old.encode("utf-8"))
        patch = combined([file_diff(path, old, new) for path, (old, new) in files.items()])
        done = git_apply(directory, patch)
        assert done.returncode == 0, (done.stderr.decode(), patch)
        for path, (_, new) in files.items():
            assert (directory / path).read_bytes() == new.encode("utf-8"), patch


_LINE = st.sampled_from(
    ["a", "b", "c", "{{ x }}", "", " ", "tab\there", "é", "line\r", "\r", "a\rb", "-", "+", "\\"]
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    lines = draw(st.lists(_LINE, max_size=25))
    text = "\n".join(lines)
    if lines and draw(st.booleans()):
        text += "\n"
    return text


@st.composite
def edited(draw: st.DrawFn) -> tuple[str, str]:
    """An old text and a new one made from it by a few line edits (so hunks have context),
    or an unrelated one."""
    old = draw(texts())
    if draw(st.booleans()):
        return old, draw(texts())
    lines = old.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert" or not lines[index:]:
            lines.insert(index, draw(_LINE))
        elif action == "delete":
            del lines[index]
        else:
            lines[index] = draw(_LINE)
    new = "\n".join(lines)
    if draw(st.booleans()):
        new = new.replace("\n", "\r\n")
    return old, new


_NAMES = st.sampled_from(
    [
        "f.jinja",
        "templates/faq.jinja",
        "my file.jinja",
        "dir with space/x y.hs",
        'q"uote.hs',
        "é/ü.txt",
    ]
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(change=edited(), name=_NAMES)
def test_git_apply_reproduces_the_new_text(
    git_env: Path, change: tuple[str, str], name: str
) -> None:
    old, new = change
    if old == new:
        assert file_diff(name, old, new).diff == ""
        return
    round_trip(git_env, {name: change})


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a\nb\n", "a\nb"),
        ("a\nb", "a\nb\n"),
        ("a", "b"),
        ("a\nb\nc", "A\nb\nc"),
        ("a\r\nb\r\n", "a\r\nB\r\n"),
        ("a\r\nb\r\n", "a\r\nb"),
        ("a\r\nb", "a\r\nb\r\n"),
        ("a\nb\n", "a\r\nb\r\n"),
        ("x\n", ""),
        ("", "x"),
        ("".join(f"{n}\n" for n in range(40)), "".join(f"{n}\n" for n in range(40) if n % 7)),
    ],
)
def test_git_apply_edge_cases(git_env: Path, old: str, new: str) -> None:
    round_trip(git_env, {"f.txt": (old, new)})


def test_a_patch_of_several_files(git_env: Path) -> None:
    round_trip(
        git_env,
        {
            "templates/faq.jinja": ("Answer briefly.\n", "Answer in two sentences.\n"),
            "src/Triage/Types.hs": ("data A = A\n", "data A = A | B\n"),
            "my file.txt": ("x", "y"),
        },
    )
