"""Speed and outputs of this checkout against another commit, measured in one run.

Machines here differ by 2x in step time, so a speed claim is a ratio measured on one
machine in one run. This script checks out ``--base`` (default: the commit before the
package layout changed) into a git worktree outside the repository, then alternates
between the two trees for ``--rounds`` rounds (base first in odd rounds, this checkout
first in even ones: on these machines the second of two back-to-back runs is often a few
percent slower, so use an even number), each in fresh subprocesses with
``PYTHONPATH`` pointing at that tree (same virtual environment, same data):

- *training*: ``benchmarks/train_throughput.py --worker multi30k`` of that tree (the
  reference model on Multi30k de→en, ``--steps`` warm-up steps, then ``--epochs``
  timed epochs of ``--steps`` steps): seconds per step and target tokens per second;
- *translation*: the saved translator ``--model`` (a run directory, a saved
  ``Translator`` or an export) loaded with that tree's ``nmt.runs.load_translator``,
  translating every sentence of ``--source`` (default: Multi30k test_2016_flickr,
  German) at batch 64, greedy and beam 5, after one warm-up pass: sentences per
  second; the output strings of the two trees are compared.

Ratios are ``this checkout / base`` from the median of the rounds. Every subprocess
checks that all the ``nmt`` modules it loaded came from its own tree. The machines here
are virtual and now and then run a whole epoch at about half speed (another tenant):
the fastest epoch of each training run is reported beside the mean.

    NMT_DATA_DIR=../shared/data .venv/bin/python benchmarks/compare_commits.py --model RUN_DIR
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BASE = "47cc6c1"
TRANSLATE = r"""
import json, sys, time, warnings
from nmt.runs import load_translator
model, source, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = open(source, encoding="utf-8").read().splitlines()
translator = load_translator(model, log=None)
result = {}
warnings.simplefilter("ignore")
for beam in (1, 5):
    translator.translate(texts, beam_size=beam, batch_size=batch)  # warm-up: traces
    start = time.perf_counter()
    outputs = translator.translate(texts, beam_size=beam, batch_size=batch)
    seconds = time.perf_counter() - start
    result[f"beam{beam}"] = {"sentences_per_second": len(texts) / seconds, "outputs": outputs}
print("RESULT " + json.dumps(result))
"""


def worktree(ref: str) -> Path:
    """A detached git worktree of ``ref`` outside the repository (reused when it exists)."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", ref], capture_output=True,
                            text=True, check=True).stdout.strip()
    path = Path(tempfile.gettempdir()) / f"nmt-worktree-{commit}"
    if not (path / "nmt").is_dir():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), commit],
                       capture_output=True, check=True)
    return path


#: Runs a script as ``__main__``, then checks that every ``nmt`` module came from the tree
#: on PYTHONPATH: an editable install's finder would otherwise fill in, from the checkout,
#: any module the older tree lacks.
CHECKED_RUN = r"""
import runpy, sys
tree, script = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    strays = sorted(name for name, module in sys.modules.items() if name.split(".")[0] == "nmt"
                    and getattr(module, "__file__", None) and not module.__file__.startswith(tree))
    if strays:
        print("modules from outside " + tree + ": " + ", ".join(strays), file=sys.stderr)
        sys.exit(3)
"""


def run(tree: Path, command: list[str], timeout: float) -> dict:
    """Runs ``command`` (``[python, script, args...]``) with ``tree`` first on the path; its RESULT line."""
    env = dict(os.environ, PYTHONPATH=str(tree), TF_CPP_MIN_LOG_LEVEL="3")
    command = [command[0], "-c", CHECKED_RUN, str(tree) + os.sep, *command[1:]]
    output = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(),
                            timeout=timeout, check=False)
    lines = [line for line in output.stdout.splitlines() if line.startswith("RESULT ")]
    if output.returncode != 0 or not lines:
        raise SystemExit(f"{tree}: {' '.join(command[4:6])} failed:\n{output.stderr[-4000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def source_file(path: str | None) -> Path:
    if path:
        return Path(path)
    data = Path(os.environ.get("NMT_DATA_DIR", REPO.parent / "shared" / "data"))
    target = Path(tempfile.gettempdir()) / "nmt-compare-test_2016_flickr.de"
    with gzip.open(data / "multi30k" / "test_2016_flickr.de.gz", "rt", encoding="utf-8") as handle:
        target.write_text(handle.read(), encoding="utf-8")
    return target


def digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:12]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=DEFAULT_BASE, help="commit to compare against")
    parser.add_argument("--model", required=True, help="run directory, saved Translator or export to translate with")
    parser.add_argument("--source", help="one sentence per line (default: Multi30k test_2016_flickr, German)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print, do not update RESULTS.md")
    args = parser.parse_args()
    trees = {"base": worktree(args.base), "head": REPO}
    source = source_file(args.source)
    script = Path(tempfile.gettempdir()) / "nmt-compare-translate.py"
    script.write_text(TRANSLATE, encoding="utf-8")
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    outputs: dict[str, dict[str, str]] = {name: {} for name in trees}
    for round_ in range(args.rounds):
        # ABBA order: the second of two back-to-back runs here is often a few percent slower.
        order = list(trees.items()) if round_ % 2 == 0 else list(trees.items())[::-1]
        for name, tree in order:
            if not args.skip_training:
                train = run(tree, [sys.executable, str(tree / "benchmarks" / "train_throughput.py"), "--worker",
                                   "multi30k", "--steps", str(args.steps), "--epochs", str(args.epochs)], 3600)
                samples[name].setdefault("train s/step", []).append(train["seconds_per_step"])
                samples[name].setdefault("train s/step, fastest epoch", []).append(
                    train["best_epoch_seconds_per_step"])
                samples[name].setdefault("train target tokens/s", []).append(train["target_tokens_per_second"])
            translated = run(tree, [sys.executable, str(script), str(Path(args.model).resolve()), str(source), "64"],
                             3600)
            for beam, value in translated.items():
                samples[name].setdefault(f"translate {beam} sentences/s", []).append(value["sentences_per_second"])
                outputs[name][beam] = digest(value["outputs"])
            print(f"round {round_ + 1} {name}: " + json.dumps({k: v[-1] for k, v in samples[name].items()}),
                  flush=True)
    from results import markdown_table

    rows = []
    for measure in samples["head"]:
        base, head = statistics.median(samples["base"][measure]), statistics.median(samples["head"][measure])
        rows.append([measure, f"{base:.3f}", f"{head:.3f}", f"{head / base:.3f}"])
    same = {beam: outputs["base"][beam] == outputs["head"][beam] for beam in outputs["head"]}
    rows += [[f"{beam} outputs (sha256 of all lines)", outputs["base"][beam], outputs["head"][beam],
              "identical" if same[beam] else "DIFFERENT"] for beam in outputs["head"]]
    head_commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True, check=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "nmt"], capture_output=True,
                           text=True, check=True).stdout.strip()
    body = "\n".join([
        f"This checkout (HEAD {head_commit}{' + uncommitted changes' if dirty else ''}) against {args.base}, "
        f"{args.rounds} rounds in one run, base first in odd rounds and head first in even ones (medians; "
        f"ratio = head / base). Translation: "
        f"`{Path(args.model).name}` on {sum(1 for _ in open(source, encoding='utf-8'))} sentences of "
        f"`{source.name}`, batch 64, after a warm-up pass. Training: `train_throughput.py --worker multi30k "
        f"--steps {args.steps} --epochs {args.epochs}` of each tree.",
        "",
        markdown_table(["measure", "base", "head", "ratio"], rows),
    ])
    if args.no_write:
        print(body)
    else:
        from results import write_section

        write_section("commit_comparison", "This checkout against an earlier commit, same run", body)
    if not all(same.values()):
        raise SystemExit("the two commits translate differently")


if __name__ == "__main__":
    main()
