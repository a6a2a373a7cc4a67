"""Does an export load and translate the same under an older TensorFlow? (``make compat``)

1. Makes (once, then reuses) a virtual environment outside the repository, by default
   ``~/.cache/nmt/compat-tf2.20`` (``--venv`` or ``NMT_COMPAT_VENV``), holding only
   ``tensorflow==2.20.*`` and ``tensorflow-text==2.20.*`` from PyPI.
2. Exports a model with this environment's TensorFlow: ``--model RUN_DIR`` (a run
   directory, a saved translator or an export), or by default the ``smoke`` config
   trained into a temporary directory (``nmt train``, then ``nmt export``).
3. Lists the op types the export's graphs use (the meta graph and every function of
   its library), and which of them tensorflow-text registers (not known to TensorFlow
   2.20 before ``import tensorflow_text``).
4. Translates the first ``--sentences`` (200) sentences of Multi30k test_2016_flickr in
   the old environment with plain ``tf.saved_model.load`` after ``import tensorflow_text``
   (``nmt`` cannot be imported there), with the export's decode settings (``serving_default``)
   and greedy (``translate_nbest``, beam 1), in the batches ``nmt translate`` uses, and
   compares with ``nmt translate`` of this environment on the export and on the run.
5. Prints a table and writes the ``compat`` section of benchmarks/RESULTS.md.

    NMT_DATA_DIR=../shared/data .venv/bin/python benchmarks/compat.py [--model runs/de_en]

Exit status 1 when the export fails to load or translates differently under the old
TensorFlow (the table says where).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import markdown_table, write_section

TF_SERIES = "2.20"
REQUIREMENTS = [f"tensorflow=={TF_SERIES}.*", f"tensorflow-text=={TF_SERIES}.*"]
DEFAULT_VENV = Path.home() / ".cache" / "nmt" / f"compat-tf{TF_SERIES}"
#: Written into the venv once the requirements are installed (its content: the requirements).
STAMP = ".nmt-compat-installed"

#: Runs in the old environment: argv = export, input file, output JSON. Uses no nmt.
OLD_SIDE = r"""
import importlib.util, json, sys, time
from tensorflow.python.framework import op_def_registry
import tensorflow as tf

export, source, target = sys.argv[1:4]
ops = json.load(open(target))["ops"]
core = {op for op in ops if op_def_registry.get(op) is not None}
import tensorflow_text
text_ops = sorted(op for op in ops if op not in core and op_def_registry.get(op) is not None)
unknown = sorted(op for op in ops if op_def_registry.get(op) is None)
result = {"tensorflow": tf.__version__, "tensorflow_text": tensorflow_text.__version__,
          "nmt_importable": importlib.util.find_spec("nmt") is not None, "text_ops": text_ops, "unknown_ops": unknown}
try:
    start = time.perf_counter()
    loaded = tf.saved_model.load(export)
    result["load_seconds"] = time.perf_counter() - start
except Exception as error:
    result["load_error"] = f"{type(error).__name__}: {error}"
    json.dump(result, open(target, "w"))
    sys.exit(0)
batch = json.load(open(f"{export}/assets/nmt_export.json"))["decode"]["batch_size"]
lines = open(source, encoding="utf-8").read().split("\n")[:-1]
default, nbest = loaded.signatures["serving_default"], loaded.signatures["translate_nbest"]
outputs = {"default": [], "greedy": []}
start = time.perf_counter()
for i in range(0, len(lines), batch):
    text = tf.constant(lines[i:i + batch])
    outputs["default"] += [t.decode() for t in default(text=text)["translation"].numpy()]
    greedy = nbest(text=text, beam_size=tf.constant(1), num_hypotheses=tf.constant(1), max_length=tf.constant(-1))
    outputs["greedy"] += [t.decode() for t in greedy["translations"].numpy()[:, 0]]
result["translate_seconds"] = time.perf_counter() - start
result["outputs"] = outputs
json.dump(result, open(target, "w"))
"""


def run(args: list[str | Path], **kwargs) -> subprocess.CompletedProcess:
    """Runs a command, showing its output when it fails."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                 f"{result.stderr[-3000:]}")
    return result


def old_environment(venv: Path) -> Path:
    """The Python of ``venv``, created and filled with :data:`REQUIREMENTS` unless it already is."""
    python = venv / "bin" / "python"
    stamp = venv / STAMP
    if python.is_file() and stamp.is_file() and stamp.read_text() == " ".join(REQUIREMENTS):
        return python
    if not python.is_file():
        print(f"creating {venv} (once; later runs reuse it)", flush=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", venv])
        run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    print(f"installing {' '.join(REQUIREMENTS)} into {venv} (a few minutes the first time)", flush=True)
    run([python, "-m", "pip", "install", "--quiet", *REQUIREMENTS])
    stamp.write_text(" ".join(REQUIREMENTS))
    return python


def graph_ops(export: Path) -> list[str]:
    """Op types of the export's meta graph and of every function in its library, sorted."""
    from tensorflow.core.protobuf import saved_model_pb2

    model = saved_model_pb2.SavedModel()
    model.ParseFromString((export / "saved_model.pb").read_bytes())
    ops = set()
    for meta in model.meta_graphs:
        ops.update(node.op for node in meta.graph_def.node)
        for function in meta.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    functions = {f.signature.name for meta in model.meta_graphs for f in meta.graph_def.library.function}
    return sorted(ops - functions)  # calls of library functions are not ops


def nmt_translate(model: Path, source: Path, target: Path, *options: str) -> tuple[list[str], float]:
    """``nmt translate`` of this environment: the lines written and the seconds it took."""
    start = time.perf_counter()
    run([sys.executable, "-m", "nmt", "translate", "--model", model, "-i", source, "-o", target, "-q", *options])
    return target.read_text(encoding="utf-8").split("\n")[:-1], time.perf_counter() - start


def same(a: list[str], b: list[str]) -> str:
    differ = sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
    return "identical" if not differ else f"{differ} of {max(len(a), len(b))} differ"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="a run directory, saved translator or export (default: train smoke)")
    parser.add_argument("--venv", type=Path, default=Path(os.environ.get("NMT_COMPAT_VENV") or DEFAULT_VENV),
                        help=f"the old environment (default {DEFAULT_VENV}; created when missing)")
    parser.add_argument("--sentences", type=int, default=200, help="Multi30k test_2016_flickr sentences (default 200)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    args = parser.parse_args()

    python = old_environment(args.venv.expanduser())
    from nmt.data import load_dataset

    with tempfile.TemporaryDirectory(prefix="nmt-compat-") as scratch:
        scratch = Path(scratch)
        model = args.model
        if model is None:
            model = scratch / "run"
            print("training the smoke config (nmt train --config smoke)", flush=True)
            run([sys.executable, "-m", "nmt", "train", "--config", "smoke", "--run-dir", model, "-q"])
        if (model / "saved_model.pb").is_file():
            export, translator = model, None
        else:
            export, translator = scratch / "export", model
            run([sys.executable, "-m", "nmt", "export", "--model", model, "--out", export])
        corpus = load_dataset("multi30k", "de-en", "test_2016_flickr").head(args.sentences)
        source = scratch / "input.de"
        source.write_text("".join(s.replace("\n", " ") + "\n" for s in corpus.sources), encoding="utf-8")

        ops = graph_ops(export)
        new = {"default": nmt_translate(export, source, scratch / "new.default"),
               "greedy": nmt_translate(export, source, scratch / "new.greedy", "--beam", "1")}
        python_side = None
        if translator is not None:
            python_side = {"default": nmt_translate(translator, source, scratch / "py.default"),
                           "greedy": nmt_translate(translator, source, scratch / "py.greedy", "--beam", "1")}
        (scratch / "old.json").write_text(json.dumps({"ops": ops}))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        start = time.perf_counter()
        run([python, "-c", OLD_SIDE, export, source, scratch / "old.json"], cwd=scratch, env=env)
        old = json.loads((scratch / "old.json").read_text())
        old_seconds = time.perf_counter() - start

    import tensorflow as tf
    import tensorflow_text

    loads = "load_error" not in old
    rows = [[f"TensorFlow {tf.__version__}, tensorflow-text {tensorflow_text.__version__}", "`nmt translate` (export)",
             "yes", "reference", "reference", f"{new['default'][1] + new['greedy'][1]:.1f}"]]
    if python_side is not None:
        rows.append(["same", "`nmt translate` (run: Python Translator)", "yes",
                     same(python_side["default"][0], new["default"][0]),
                     same(python_side["greedy"][0], new["greedy"][0]),
                     f"{python_side['default'][1] + python_side['greedy'][1]:.1f}"])
    rows.append([f"TensorFlow {old['tensorflow']}, tensorflow-text {old['tensorflow_text']}",
                 "`tf.saved_model.load` + `import tensorflow_text`, no nmt"
                 + (" (nmt importable!)" if old["nmt_importable"] else ""),
                 "yes" if loads else f"**no**: {old['load_error'][:300]}",
                 same(old["outputs"]["default"], new["default"][0]) if loads else "-",
                 same(old["outputs"]["greedy"], new["greedy"][0]) if loads else "-", f"{old_seconds:.1f}"])
    equal = loads and all(old["outputs"][k] == new[k][0] for k in ("default", "greedy"))
    table = markdown_table(["environment", "translated by", "loads", "serving_default (export's beam)",
                            "translate_nbest beam 1", "seconds (process)"], rows)
    text_ops = ", ".join(f"`{op}`" for op in old["text_ops"]) or "none"
    core_ops = ", ".join(f"`{op}`" for op in ops if op not in old["text_ops"] and op not in old["unknown_ops"])
    body = (f"{'An export made with this environment' if args.model is None else f'The export of {args.model}'} "
            f"({'the smoke config, trained here' if args.model is None else 'given'}) on the first "
            f"{len(corpus):,} Multi30k de→en test_2016_flickr sentences, in batches of the export's "
            f"`decode.batch_size`. Result: **{'loads, outputs identical' if equal else 'DIFFERS' if loads else 'does not load'}**"
            f" under TensorFlow {old['tensorflow']}.\n\n{table}\n\n"
            f"Op types in the export's graphs ({len(ops)}); registered by tensorflow-text: {text_ops}; "
            f"unknown to TensorFlow {old['tensorflow']} even with tensorflow-text: "
            f"{', '.join(old['unknown_ops']) or 'none'}. TensorFlow's own: {core_ops}.")
    if args.no_write:
        print(body)
    else:
        write_section("compat", f"Compatibility: the export under TensorFlow {TF_SERIES}", body)
    sys.exit(0 if equal else 1)


if __name__ == "__main__":
    main()
