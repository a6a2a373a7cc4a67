"""The wheel carries what the package needs: built, installed away from the checkout, used as a new user would.

The ready-made configs (``configs/*.yaml``) and the dataset registry (``data/registry.json``)
ship as package data (``nmt/config/recipes/``, ``nmt/data/registry.json``: symbolic links in
the repository, plain files in the wheel; see setup.cfg). The slow tests build the wheel
offline from a copy of the source tree (so no ``build/`` or ``*.egg-info`` lands in the
checkout), install it into a fresh virtual environment and with ``pip install --target``,
and use it from a folder outside the repository: ``nmt train --config smoke`` by name,
``nmt info``, ``load_dataset``. The fresh environment borrows the dependencies (TensorFlow and
the rest, several GB) from the running interpreter's site-packages through a ``.pth`` file
that only adds that folder to ``sys.path``: the ``.pth`` files inside it, among them the
editable install's finder, are not run, so the ``nmt`` imported there is the wheel's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What the build reads from the repository (the package, its data, the build configuration).
BUILD_INPUTS = ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in", "README.md", "nmt", "configs", "data")
PACKAGE_DATA = ("nmt/config/recipes/demo.yaml", "nmt/config/recipes/smoke.yaml", "nmt/data/registry.json")


def _run(args: list[str | Path], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Runs ``args`` (bounded by ``timeout`` seconds) and checks that it exits 0, showing its output if not."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, (f"{' '.join(map(str, args))} exited {result.returncode}\n"
                                    f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}")
    return result


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **values)
    return env


def test_package_data_links_point_at_the_top_level_files():
    # The files live (and are edited) in configs/ and data/; the package reaches them by links.
    assert (ROOT / "nmt" / "config" / "recipes").resolve() == ROOT / "configs"
    assert (ROOT / "nmt" / "data" / "registry.json").resolve() == ROOT / "data" / "registry.json"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built offline (no build isolation: the running environment's setuptools) from a copy of the tree."""
    base = tmp_path_factory.mktemp("build")
    source = base / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.is_file():
            shutil.copy2(path, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", base / "dist",
          source], timeout=240, cwd=base, env=_env())
    (path,) = (base / "dist").glob("nmt-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment holding the wheel, with the dependencies borrowed from the running one."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir], timeout=120, env=_env())
    python = env_dir / "bin" / "python"
    # pip --python installs into that environment as its own pip would (console scripts included).
    # It runs before the .pth below exists, so pip sees none of the running environment's packages.
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel],
         timeout=180, env=_env())
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     timeout=60, env=_env()).stdout.strip())
    paths = sysconfig.get_paths()
    (site / "_nmt_test_dependencies.pth").write_text(
        "".join(f"{folder}\n" for folder in dict.fromkeys((paths["purelib"], paths["platlib"]))))
    return env_dir


@pytest.mark.slow
def test_wheel_contains_the_configs_and_the_registry(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert set(PACKAGE_DATA) <= set(names)
    assert {Path(n).stem for n in names if n.startswith("nmt/config/recipes/")} == {
        p.stem for p in (ROOT / "configs").glob("*.yaml")}
    assert not [n for n in names if ".data/" in n]  # nothing installed outside the package (share/nmt)


@pytest.mark.slow
def test_installed_wheel_trains_by_config_name_outside_the_checkout(venv, data_dir, tmp_path):
    env = _env(NMT_DATA_DIR=str(data_dir), NMT_CACHE_DIR=str(tmp_path / "cache"))
    python, nmt = venv / "bin" / "python", venv / "bin" / "nmt"
    where = _run([python, "-c", "import nmt; print(nmt.__file__)"], timeout=60, cwd=tmp_path, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv)

    run_dir = tmp_path / "run"
    train = _run([nmt, "train", "--config", "smoke", "--run-dir", run_dir], timeout=300, cwd=tmp_path, env=env)
    assert "train: 300 pairs" in train.stdout
    assert (run_dir / "config.yaml").is_file() and (run_dir / "translator").is_dir()

    info = _run([nmt, "info", run_dir], timeout=120, cwd=tmp_path, env=env)
    assert "(finished)" in info.stdout
    assert "multi30k de-en" in info.stdout and "parameters:" in info.stdout

    code = "from nmt.data import load_dataset; print(len(load_dataset('multi30k', 'de-en', 'val')))"
    assert _run([python, "-c", code], timeout=120, cwd=tmp_path, env=env).stdout.split() == ["1014"]


@pytest.mark.slow
def test_wheel_installed_with_target_finds_its_configs_and_registry(wheel, tmp_path):
    target = tmp_path / "target"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", target, wheel],
         timeout=180, env=_env())
    code = ("import nmt; from nmt.config.bundled import bundled_configs, resolve_config_path;"
            "from nmt.data.registry import load_registry, registry_path;"
            "print(nmt.__file__); print(registry_path()); print(resolve_config_path('smoke'));"
            "print(' '.join(bundled_configs())); print(' '.join(sorted(load_registry().datasets)))")
    lines = _run([sys.executable, "-c", code], timeout=120, cwd=tmp_path,
                 env=_env(PYTHONPATH=str(target))).stdout.splitlines()
    module, registry, smoke, configs, datasets = lines[-5:]
    for path in (module, registry, smoke):
        assert Path(path).is_relative_to(target), path
    assert {"demo", "smoke"} <= set(configs.split())
    assert datasets.split() == ["anki-spa-eng", "multi30k"]
