"""Files from somewhere else: loading a model never runs code it carries, and the package never can.

- A ``.keras`` file whose model holds a ``Lambda`` layer (Python bytecode) is refused by
  every loader of the package (``Translator.load`` of a ``.keras`` file or a translator
  directory, ``nmt.runs.load_translator`` of a run directory's ``best.keras``): Keras'
  ``safe_mode`` stays on. A positive control shows that the same file does run its
  code when loaded with ``safe_mode=False``, so the refusals are not an accident of a broken file.
- The source never uses ``pickle`` (or ``marshal``, ``shelve``, ``dill``...), ``eval``,
  ``exec``, ``yaml.load`` without a ``SafeLoader``, ``safe_mode=False`` or Keras'
  ``enable_unsafe_deserialization`` (checked on the syntax tree of every module).
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from nmt.runs import load_translator
from nmt.runs.layout import CONFIG_FILE
from nmt.translate.package import TranslatorPackage
from nmt.translate.translator import MODEL_FILE, Translator

PACKAGE = Path(__file__).resolve().parents[1] / "nmt"


# ----------------------------------------------------------------------------- Lambda layers
def _evil_model(marker: Path) -> keras.Model:
    """A functional model whose Lambda layer creates ``marker`` whenever it is called (also while loading)."""
    name = str(marker)
    inputs = keras.Input(shape=(3,))
    outputs = keras.layers.Lambda(lambda x: (open(name, "a").close(), x)[1], output_shape=(3,))(inputs)  # noqa: SIM115
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def evil(tmp_path_factory, tiny_translator) -> dict[str, Path]:
    """Paths of a Lambda-carrying ``.keras`` model, translator file, translator directory and run directory."""
    folder = tmp_path_factory.mktemp("untrusted")
    marker = folder / "code-ran"
    model = _evil_model(marker)
    paths = {"marker": marker, "model": folder / "model.keras", "package": folder / "translator.keras",
             "directory": folder / "translator", "run": folder / "run"}
    model.save(paths["model"])
    package = TranslatorPackage(model, tiny_translator.source_tokenizer, tiny_translator.target_tokenizer,
                                {"beam_size": 1})
    keras.saving.save_model(package, paths["package"])
    tiny_translator.save(paths["directory"])
    shutil.copy(paths["model"], paths["directory"] / MODEL_FILE)
    # An unfinished run: config.yaml, both tokenizers, state.json and the evil best.keras.
    run = paths["run"]
    run.mkdir()
    shutil.copy(PACKAGE.parent / "configs" / "smoke.yaml", run / CONFIG_FILE)
    tiny_translator.source_tokenizer.save(run / "source_tokenizer")
    tiny_translator.target_tokenizer.save(run / "target_tokenizer")
    (run / "state.json").write_text(json.dumps({"epoch": 1, "best_epoch": 1, "best": 1.0}), encoding="utf-8")
    shutil.copy(paths["model"], run / "best.keras")
    marker.unlink(missing_ok=True)  # saving traced the model: the marker exists now
    return paths


@pytest.mark.parametrize("load", [
    pytest.param(lambda paths: keras.saving.load_model(paths["model"]), id="keras-default"),
    pytest.param(lambda paths: Translator.load(paths["package"]), id="translator-keras-file"),
    pytest.param(lambda paths: Translator.load(paths["directory"]), id="translator-directory"),
    pytest.param(lambda paths: load_translator(paths["package"], log=None), id="load-translator-keras-file"),
    pytest.param(lambda paths: load_translator(paths["directory"], log=None), id="load-translator-directory"),
    pytest.param(lambda paths: load_translator(paths["run"], log=None), id="load-translator-run-best"),
])
def test_a_keras_file_with_a_lambda_layer_is_refused(evil, load):
    with pytest.raises(ValueError, match="Lambda|unsafe|safe_mode"):
        load(evil)
    assert not evil["marker"].exists(), "the file's code ran while loading"


def test_the_lambda_file_does_run_code_without_safe_mode(evil):
    # The positive control: with safe_mode off, the same file loads, and the code it carries runs.
    model = keras.saving.load_model(evil["model"], safe_mode=False)
    model(np.zeros((1, 3), np.float32))
    assert evil["marker"].exists()
    evil["marker"].unlink()


# ----------------------------------------------------------------------------- the source
#: Modules whose use deserializes arbitrary objects (or code).
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}
#: Built-ins that run code from strings.
UNSAFE_BUILTINS = {"eval", "exec", "compile", "__import__"}
#: YAML loaders that construct only plain data.
SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _safe_loader_classes(tree: ast.Module) -> set[str]:
    """Classes of a module that subclass one of :data:`SAFE_YAML_LOADERS` (directly or through each other)."""
    safe = set(SAFE_YAML_LOADERS)
    classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    changed = True
    while changed:
        changed = False
        for node in classes:
            if node.name not in safe and any(_dotted(base).rsplit(".", 1)[-1] in safe for base in node.bases):
                safe.add(node.name)
                changed = True
    return safe


def unsafe_uses(source: str, filename: str) -> list[str]:
    """``file:line: what`` for every unsafe use in ``source`` (see the module docstring)."""
    tree = ast.parse(source, filename)
    safe_loaders = _safe_loader_classes(tree)
    found = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and node.attr in ("enable_unsafe_deserialization", "unsafe_load",
                                                               "full_load", "read_pickle", "to_pickle"):
            found.append(f"{where}: {_dotted(node)}")
        elif isinstance(node, ast.keyword) and node.arg in ("safe_mode", "allow_pickle") and not (
                isinstance(node.value, ast.Constant) and node.value.value is (node.arg == "safe_mode")):
            found.append(f"{where}: {node.arg}={ast.unparse(node.value)}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in UNSAFE_BUILTINS:
                found.append(f"{where}: {name}()")
            elif name.endswith("yaml.load") or name.endswith("yaml.load_all"):
                loader = next((k.value for k in node.keywords if k.arg == "Loader"),
                              node.args[1] if len(node.args) > 1 else None)
                if loader is None or _dotted(loader).rsplit(".", 1)[-1] not in safe_loaders:
                    found.append(f"{where}: {name}() without a SafeLoader")
    return found


def test_the_package_never_unpickles_evals_or_loads_yaml_unsafely():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += unsafe_uses(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("source", [
    "import pickle", "from cloudpickle import loads", "eval('1')", "exec(code)", "yaml.load(text)",
    "yaml.load(text, Loader=yaml.Loader)", "yaml.load(text, yaml.UnsafeLoader)", "yaml.unsafe_load(text)",
    "keras.saving.load_model(p, safe_mode=False)", "keras.config.enable_unsafe_deserialization()",
    "np.load(p, allow_pickle=True)", "pd.read_pickle(p)",
    "class L(yaml.Loader): pass\nyaml.load(text, Loader=L)",
])
def test_the_source_check_sees_each_unsafe_use(source):
    assert unsafe_uses(source, "x.py"), source


@pytest.mark.parametrize("source", [
    "yaml.safe_load(text)", "yaml.load(text, Loader=yaml.SafeLoader)", "model.evaluate(x)", "re.compile('a')",
    "class L(yaml.SafeLoader): pass\nclass M(L): pass\nyaml.load(text, Loader=M)",
    "keras.saving.load_model(p, safe_mode=True)", "np.load(p, allow_pickle=False)",
])
def test_the_source_check_accepts_safe_uses(source):
    assert unsafe_uses(source, "x.py") == [], source
