"""The configuration micro-gastown ships: ``polecats/``, ``formulas/`` and ``schemas/``.

The repository's top-level folders are the source of truth; ``micro_gastown/bundled/``
links to them, so an editable install reads them in place and a wheel carries copies as
package data. Both are found the same way, through :mod:`importlib.resources`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from micro_gastown.errors import ConfigError

_FOLDERS = ("polecats", "formulas", "schemas")


@cache
def bundled_root() -> Path:
    """The folder holding the shipped ``polecats/``, ``formulas/`` and ``schemas/``.

    Raises ConfigError when the installation lacks them (a wheel built without its package
    data, or an install that is not on a file system, such as a zip import).
    """
    root = resources.files("micro_gastown").joinpath("bundled")
    if not isinstance(root, Path):
        raise ConfigError(
            f"micro-gastown's bundled configuration is not on a file system ({root}); "
            "install the package as files (pip install), not as a zip"
        )
    missing = [name for name in _FOLDERS if not (root / name).is_dir()]
    if missing:
        raise ConfigError(
            f"{root}: this installation lacks its bundled {', '.join(missing)}; "
            "reinstall micro-gastown"
        )
    return root


def bundled_polecat(name: str) -> Path:
    """The shipped ``polecats/<name>.toml``."""
    return bundled_root() / "polecats" / f"{name}.toml"
