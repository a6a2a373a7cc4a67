"""The ready-made run configurations (``configs/*.yaml``), found by name: ``nmt train --config demo``.

They are package data, ``nmt/config/recipes/*.yaml``, read through :mod:`importlib.resources`,
so they are found the same way in a checkout, an editable install and a wheel installed
anywhere (``--user``, ``--target``, a virtual environment). In the repository
``nmt/config/recipes`` is a symbolic link to the top-level ``configs/`` folder, where the
files live and are edited; a wheel build copies them into the package (setup.cfg,
``[options.package_data]``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nmt.config.base import ConfigError

#: The ready-made configurations, found by name. In a checkout or an editable install this
#: is the repository's ``configs/`` (the link resolved); in an installed wheel, the
#: package's own copy. ``nmt`` must be installed on a file system (not in a zip archive).
CONFIG_DIR = Path(resources.files("nmt.config") / "recipes").resolve()


def bundled_configs() -> tuple[str, ...]:
    """Names of the configurations in :data:`CONFIG_DIR` (``demo``, ``smoke``, ...)."""
    return tuple(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))) if CONFIG_DIR.is_dir() else ()


def resolve_config_path(name: str | Path) -> Path:
    """A config file path: ``name`` itself when it exists, else the bundled ``NAME[.yaml]`` (:data:`CONFIG_DIR`).

    Raises:
        ConfigError: neither exists (the message lists the bundled configs).
    """
    path = Path(name).expanduser()
    if path.is_file():
        return path
    for candidate in (CONFIG_DIR / str(name), CONFIG_DIR / f"{name}.yaml"):
        if path.parent == Path(".") and candidate.is_file():
            return candidate
    bundled = bundled_configs()
    hint = f" (bundled configs: {', '.join(bundled)})" if bundled else ""
    raise ConfigError(f"config file {name}: no such file{hint}")
