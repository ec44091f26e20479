"""Haskell the model may not add: anything that acts while the checkout is built or tested.

Validation compiles the change and runs the checkout's tests on this machine, so a change
is code we execute. A Template Haskell splice runs at compile time, ``runIO`` and the
``unsafe*IO`` family do I/O from pure code, a ``foreign import`` calls C, an
``OPTIONS_GHC -F -pgmF`` pragma runs a program as a preprocessor, and the process, file
system, environment and network modules reach outside the worktree (an environment
variable printed by a failing test would end up in the output). The check is lexical and
deliberately blunt: it counts each construct in the old text and in the new text, and an
edit that adds one is refused, whatever the construct is for; one the file already had
and the edit keeps is not the model's doing.

It does not (cannot) prove the code harmless: existing functions of the checkout may do
I/O, and a naked top-level splice in a Template Haskell module that calls an existing
function is not recognised. The build and tests should still run in a sandbox.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Final

__all__ = ["HASKELL_SUFFIXES", "added_unsafe_constructs", "is_haskell"]

HASKELL_SUFFIXES: Final = (".hs", ".lhs", ".hsc", ".hs-boot", ".lhs-boot")
"""Files GHC compiles (or preprocesses) from the checkout."""

# Template Haskell splices ($(..), $$(..), $name, $$name) and quotes ([| |], [|| ||],
# [e| |], [name| |]): not preceded by another operator character, so ``<$>``, ``$!`` and
# ``f $ x`` are not splices.
_OPERATOR: Final = re.escape("!#$%&*+./<=>?@\\^|~:-")
_SPLICE: Final = re.compile(rf"(?<![{_OPERATOR}\w'])\$\$?[(A-Za-z_]")
_QUOTE: Final = re.compile(r"\[(?:[A-Za-z_][\w'.]*)?\|\|?")

_NAMES: Final = re.compile(
    r"\b(?:runIO|unsafe[A-Z_]\w*|\w*PerformIO|\w*InterleaveIO|addDependentFile|qAddDependentFile"
    r"|addForeign\w*|embedFile|embedDir|embedStringFile|makeRelativeToProject"
    r"|readFile|writeFile|appendFile|openFile|withFile|openBinaryFile|withBinaryFile"
    r"|getEnv|lookupEnv|getEnvironment|getArgs|getProgName|callCommand|callProcess"
    r"|readProcess\w*|spawnCommand|spawnProcess|createProcess|rawSystem|executeFile)\b",
    re.ASCII,
)
_FOREIGN: Final = re.compile(r"\bforeign\s+(?:import|export)\b")

# Pragmas: the name decides; LANGUAGE pragmas by the extensions they switch on. GHC reads
# pragma names and extension names without regard to case.
_PRAGMA: Final = re.compile(r"\{-#\s*([A-Za-z_]+)(.*?)#-\}", re.DOTALL)
_UNSAFE_PRAGMAS: Final = frozenset(("options_ghc", "options", "include", "ann", "options_hugs"))
_UNSAFE_EXTENSIONS: Final = frozenset(
    (
        "templatehaskell",
        "templatehaskellquotes",
        "quasiquotes",
        "cpp",
        "foreignfunctioninterface",
        "capiffi",
        "ghcforeignimportprim",
        "interruptibleffi",
        "unliftedffitypes",
        "staticpointers",
    )
)
_EXTENSION_WORD: Final = re.compile(r"[A-Za-z]+")

_IMPORT: Final = re.compile(
    r"(?<![\w'.])import\s+(?:\{-#\s*SOURCE\s*#-\}\s*)?(?:safe\s+)?(?:qualified\s+)?"
    r"(?:\"[^\"\n]*\"\s+)?([A-Z][\w']*(?:\.[A-Z][\w']*)*)",
    re.ASCII,
)
_DENIED_MODULE_PREFIXES: Final = (
    "System.Process",
    "System.IO",
    "System.Directory",
    "System.Posix",
    "System.Environment",
    "System.Win32",
    "System.FilePath.Glob",
    "Network",
    "Language.Haskell.TH",
    "Data.FileEmbed",
    "Unsafe",
    "Data.Text.IO",
    "Data.Text.Lazy.IO",
    "Turtle",
    "Shelly",
)
_DENIED_MODULE_STEMS: Final = ("Foreign", "GHC.IO")
"""Denied with anything after them (``Foreign.C``, ``ForeignPtr``, ``GHC.IORef``)."""
# Whole module-name parts that mean process, file-system or network access in any
# library (``UnliftIO.Process``, ``Data.Streaming.Network``...).
_DENIED_MODULE_PARTS: Final = frozenset(
    ("Process", "Directory", "Environment", "Unsafe", "Posix", "Socket", "Network")
)

_STRING: Final = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_ESCAPING_PATH: Final = re.compile(r"^(?:/|~|[A-Za-z]:[\\/])|(?:^|[\\/])\.\.(?:[\\/]|$)")


def is_haskell(path: str) -> bool:
    return path.endswith(HASKELL_SUFFIXES)


def added_unsafe_constructs(old_text: str, new_text: str) -> list[str]:
    """The unsafe constructs ``new_text`` holds more often than ``old_text``, described in
    plain words (sorted, without the model's text beyond the construct's own name)."""
    before, after = _constructs(old_text), _constructs(new_text)
    return sorted(construct for construct, count in after.items() if count > before[construct])


def _constructs(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    found.update("a Template Haskell splice" for _ in _SPLICE.finditer(text))
    found.update("a Template Haskell quotation or quasi-quote" for _ in _QUOTE.finditer(text))
    found.update(f"{match.group(0)}" for match in _NAMES.finditer(text))
    found.update("a foreign import or export" for _ in _FOREIGN.finditer(text))
    for match in _PRAGMA.finditer(text):
        name = match.group(1).casefold()
        if name in _UNSAFE_PRAGMAS:
            found[f"an {match.group(1).upper()} pragma"] += 1
        elif name == "language":
            for word in _EXTENSION_WORD.findall(match.group(2)):
                if word.casefold() in _UNSAFE_EXTENSIONS:
                    found[f"the {word} extension"] += 1
    for match in _IMPORT.finditer(text):
        module = match.group(1)
        if _denied(module):
            found[f"an import of {module}"] += 1
    for match in _STRING.finditer(text):
        if _ESCAPING_PATH.search(match.group(1)):
            found["a string naming a path outside the checkout"] += 1
    return found


def _denied(module: str) -> bool:
    if module.startswith(_DENIED_MODULE_STEMS):
        return True
    if any(
        module == prefix or module.startswith(prefix + ".") for prefix in _DENIED_MODULE_PREFIXES
    ):
        return True
    return any(part in _DENIED_MODULE_PARTS for part in module.split("."))
