"""The ready-made run configurations (``configs/*.yaml``), found by name: ``nmt train --config demo``."""

from __future__ import annotations

from pathlib import Path

from nmt.config.base import ConfigError

#: The repository's ready-made configurations (``configs/*.yaml``), found by name.
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


def bundled_configs() -> tuple[str, ...]:
    """Names of the configurations in :data:`CONFIG_DIR` (``demo``, ``smoke``, ...)."""
    return tuple(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))) if CONFIG_DIR.is_dir() else ()


def resolve_config_path(name: str | Path) -> Path:
    """A config file path: ``name`` itself when it exists, else ``configs/NAME[.yaml]`` of the repository.

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
