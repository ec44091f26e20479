"""The ``.hs`` files of a checkout, found once and read and lexed at most once each.

Synonyms, graph records and template bindings are each looked for across the whole
checkout, so one shared cache keeps a file from being read or lexed twice. A file that
cannot be read raises ``DslError`` naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from micro_gastown.dsl.lexer import _Token, _tokenize, strip_comments
from micro_gastown.errors import DslError

# Directories that hold build output or vendored code, never the DSL itself.
SKIPPED_DIRS = frozenset({".git", "dist-newstyle", ".stack-work", "node_modules"})


@dataclass(slots=True)
class _Module:
    path: str  # repo-relative, POSIX
    tokens: list[_Token]


@dataclass(slots=True)
class _SourceSet:
    """The ``.hs`` files of a checkout, read and lexed lazily and at most once."""

    root: Path
    paths: list[Path] = field(default_factory=list)
    _texts: dict[Path, str] = field(default_factory=dict)
    _modules: dict[Path, _Module] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            base = Path(dirpath)
            self.paths.extend(base / f for f in sorted(filenames) if f.endswith(".hs"))

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def text(self, path: Path) -> str:
        if path not in self._texts:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise DslError(
                    f"--repo {self.root}: cannot read {self.relative(path)}: {exc.strerror}"
                ) from exc
            self._texts[path] = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
        return self._texts[path]

    def module(self, path: Path) -> _Module:
        if path not in self._modules:
            tokens = _tokenize(strip_comments(self.text(path)))
            self._modules[path] = _Module(self.relative(path), tokens)
        return self._modules[path]
