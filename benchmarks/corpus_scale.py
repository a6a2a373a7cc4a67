"""Real-size corpora (issue 18): training and translation cost as the corpus grows from 30k to 10M pairs.

1. **Corpus.** A deterministic synthetic de-en corpus built from the real Multi30k
   training pairs: each pair concatenates 1-3 random Multi30k pairs side by side
   (German with German, English with English; numpy seed ``--seed``). The sizes are
   prefixes of one stream (the 30k corpus is the first 30,000 pairs of the 10M one),
   written as aligned gzip files ``OUT/PAIRS.de.gz`` / ``OUT/PAIRS.en.gz`` outside the
   repository (default ``~/.cache/nmt/corpus_scale``), with a validation set
   ``OUT/valid.{de,en}.gz`` built the same way from Multi30k's validation pairs and
   translation inputs ``OUT/translate_LINES.de`` (plain text, German side of the
   stream). ``OUT/manifest.json`` records sizes, seed and byte counts; files whose
   entry matches are reused.
2. **Training.** For each size, ``nmt train`` in a child process with the demo model
   (``configs/demo.yaml``'s model, tokenizer and training sections) for ``--steps``
   steps, one epoch of ``train.steps_per_epoch: STEPS``: on the streaming path
   (``data.streaming: true``, ``train.max_steps``) and on the in-memory path
   (``data.streaming: false``) at the sizes up to ``--in-memory-max``. Measured: time
   from process start to the first training step (the first step the Keras progress
   bar shows; stdout is read as it comes), steps/s over the steps after the first
   (to the bar's last step), the child's peak RSS (``os.wait4``: that child only), and
   the tokenizer time from the run log (in memory: ``trained ... tokenizers on N pairs in
   X s``; streaming: drawing the sample plus ``trained ... tokenizers on the sample in X s``).
3. **Translation.** ``nmt translate -i FILE -o OUT --beam 1 --progress`` of the 10k-
   and 1M-line inputs with a small model (``--translate-model``: a run directory,
   default a tiny GRU trained once on the smallest corpus): lines/s (overall, and
   after the first chunk, which traces the search) and the child's peak RSS, with
   TensorFlow's oneDNN kernels on (the default) and off (``TF_ENABLE_ONEDNN_OPTS=0``):
   with oneDNN the RSS grew over the first tens of thousands of lines before it
   levelled (the Python heap stayed flat; most likely oneDNN's cache of kernels per
   input shape), without it the RSS stays flat.

Targets (PASS/FAIL): peak RSS at the largest size at most 1.25x the smallest's
(streaming); steps/s within 10% across sizes (streaming); time to the first step under
90 s at the largest size (streaming); translate peak RSS for the largest input within
10% of the smallest's.

    NMT_DATA_DIR=../shared/data .venv/bin/python benchmarks/corpus_scale.py            # everything
    .venv/bin/python benchmarks/corpus_scale.py --generate-only                      # the corpora only
    .venv/bin/python benchmarks/corpus_scale.py --in-memory --sizes 30k,300k --skip-translate

Writes the ``corpus_scale`` section of RESULTS.md unless ``--no-write``; a run that
skips a part or a size of the default plan is labelled partial there.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
from results import markdown_table, write_section

ROOT = Path(__file__).resolve().parents[1]
NMT = ROOT / ".venv" / "bin" / "nmt"
DEFAULT_OUT = Path.home() / ".cache" / "nmt" / "corpus_scale"
DEFAULT_SIZES = "30k,300k,3M,10M"
DEFAULT_TRANSLATE = "10k,1M"
GENERATOR_VERSION = 1
BLOCK = 100_000  # pairs drawn per numpy call
GZIP_LEVEL = 1  # fast; the files are read far more often than written


# ----------------------------------------------------------------------------- sizes
def parse_count(text: str) -> int:
    """``30k`` -> 30000, ``3M`` -> 3000000, ``1500`` -> 1500."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count like 30k, 3M or 1500")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def count_list(text: str) -> list[int]:
    return sorted({parse_count(part) for part in text.split(",") if part.strip()})


def label(count: int) -> str:
    """30000 -> 30k, 10000000 -> 10M."""
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if count >= scale and count % scale == 0:
            return f"{count // scale}{unit}"
    return str(count)


# ----------------------------------------------------------------------------- corpus
def _multi30k(split: str) -> tuple[list[str], list[str]]:
    from nmt.data import load_dataset

    corpus = load_dataset("multi30k", "de-en", split)
    return list(corpus.sources), list(corpus.targets)


def synthetic_pairs(sources: list[str], targets: list[str], count: int, seed: int):
    """Yields ``count`` (German, English) pairs, each 1-3 random pairs of ``sources``/``targets`` joined by spaces.

    Deterministic for ``seed``; a shorter stream is a prefix of a longer one.
    """
    rng = np.random.default_rng(seed)
    done = 0
    while done < count:
        n = min(BLOCK, count - done)
        parts = rng.integers(1, 4, size=BLOCK)
        picks = rng.integers(0, len(sources), size=(BLOCK, 3))
        for k, row in zip(parts[:n], picks[:n]):
            chosen = row[:k]
            yield " ".join(sources[i] for i in chosen), " ".join(targets[i] for i in chosen)
        done += n


def _manifest(out: Path) -> dict:
    try:
        return json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def _entry_ok(out: Path, entry: dict | None, seed: int) -> bool:
    if not entry or entry.get("seed") != seed or entry.get("version") != GENERATOR_VERSION:
        return False
    return all((out / name).is_file() and (out / name).stat().st_size == size for name, size in entry["files"].items())


def generate(out: Path, sizes: list[int], translate_lines: list[int], seed: int) -> dict:
    """Writes the missing corpora, validation set and translation inputs into ``out``; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(out)
    sources, targets = _multi30k("train")
    wanted = {f"train_{label(n)}": n for n in sizes}
    wanted.update({f"translate_{label(n)}": n for n in translate_lines})
    missing = {name: n for name, n in wanted.items() if not _entry_ok(out, manifest.get(name), seed)}
    if not _entry_ok(out, manifest.get("valid"), seed):
        val_src, val_tgt = _multi30k("val")
        manifest["valid"] = _write_pairs(out, "valid", synthetic_pairs(val_src, val_tgt, len(val_src), seed + 1),
                                         len(val_src), seed)
    if missing:
        start = time.perf_counter()
        print(f"generating {', '.join(missing)} in {out} ...", flush=True)
        manifest.update(_write_stream(out, missing, synthetic_pairs(sources, targets, max(missing.values()), seed),
                                      seed))
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _write_pairs(out: Path, name: str, pairs, count: int, seed: int) -> dict:
    return _write_stream(out, {name: count}, pairs, seed)[name]


def _write_stream(out: Path, targets: dict[str, int], pairs, seed: int) -> dict:
    """Writes the first ``n`` pairs of ``pairs`` for each ``{name: n}``: ``name.{de,en}.gz``, or ``name.de`` for inputs."""
    handles = {}
    for name in targets:
        if name.startswith("translate_"):
            handles[name] = [open(out / f".{name}.de.part", "wb")]
        else:
            handles[name] = [gzip.open(out / f".{name}.{lang}.gz.part", "wb", compresslevel=GZIP_LEVEL)
                             for lang in ("de", "en")]
    try:
        open_names = sorted(targets, key=targets.get)
        buffers: dict[str, list[list[bytes]]] = {name: [[], []] for name in targets}
        for index, (de, en) in enumerate(pairs):
            while open_names and index >= targets[open_names[0]]:
                _flush(handles, buffers, open_names.pop(0), close=True)
            encoded = ((de + "\n").encode(), (en + "\n").encode())
            for name in open_names:
                buffers[name][0].append(encoded[0])
                buffers[name][1].append(encoded[1])
            if index % 50_000 == 49_999:
                for name in open_names:
                    _flush(handles, buffers, name)
            if index % 1_000_000 == 999_999:
                print(f"  {index + 1:,} pairs", flush=True)
        for name in open_names:
            _flush(handles, buffers, name, close=True)
    except BaseException:
        for files in handles.values():
            for handle in files:
                handle.close()
        raise
    entries = {}
    for name, count in targets.items():
        files = {}
        for part in sorted(out.glob(f".{name}.*.part")):
            final = out / part.name[1:].removesuffix(".part")
            os.replace(part, final)
            files[final.name] = final.stat().st_size
        entries[name] = {"pairs": count, "seed": seed, "version": GENERATOR_VERSION, "files": files}
    return entries


def _flush(handles, buffers, name: str, close: bool = False) -> None:
    files = handles[name]
    for handle, lines in zip(files, buffers[name]):
        handle.write(b"".join(lines))
        lines.clear()
    if close:
        for handle in files:
            handle.close()


# ----------------------------------------------------------------------------- child processes
@dataclasses.dataclass
class Child:
    """One ``nmt`` child process: exit status, wall time, peak RSS and its timed output."""

    code: int
    seconds: float
    peak_rss_mib: float
    output: str
    steps: list[tuple[float, int]]  # (seconds since start, count): training steps or lines translated

    def match(self, pattern: str) -> re.Match | None:
        return re.search(pattern, self.output)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STEP = re.compile(r"(?:^|[\r\n\x08])\s*(\d+)/(?:\d+|Unknown)\b")


def run_child(command: list[str], log: Path, marks: re.Pattern = _STEP, env: dict[str, str] | None = None) -> Child:
    """Runs ``command``, timing the counts ``marks`` finds in its output (progress-bar steps by default).

    Peak RSS is that child's own (``os.wait4``), not the largest of all children so far
    (``RUSAGE_CHILDREN``).
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    text, steps, scanned = "", [], 0
    with open(log, "w", encoding="utf-8") as out:
        out.write("$ " + " ".join(command) + "\n")
        while piece := os.read(process.stdout.fileno(), 1 << 16):
            now = time.perf_counter() - start
            decoded = _ANSI.sub("", piece.decode("utf-8", "replace"))
            out.write(decoded)
            text += decoded
            for match in marks.finditer(text, max(0, scanned - 40)):
                step = int(match.group(1).replace(",", ""))
                if not steps or step > steps[-1][1]:
                    steps.append((now, step))
            scanned = len(text)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    return Child(process.returncode, seconds, usage.ru_maxrss / 1024, text, steps)


# ----------------------------------------------------------------------------- training
def streaming_available() -> bool:
    """Whether this nmt has ``data.streaming`` and ``train.max_steps``."""
    from nmt.config.data import DataConfig
    from nmt.config.train import TrainConfig

    names = {f.name for f in dataclasses.fields(DataConfig)} | {f"train.{f.name}" for f in dataclasses.fields(TrainConfig)}
    return "streaming" in names and "train.max_steps" in names


def train_config(out: Path, pairs: int, steps: int, streaming: bool, model: str = "demo") -> dict:
    """The run config: ``configs/demo.yaml`` (or the tiny translation model) on ``train_PAIRS``."""
    import yaml

    config = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    config["data"] = {"dataset": "files", "pair": "de-en", "train": str(out / f"train_{label(pairs)}"),
                      "valid": str(out / "valid"), "test": None}
    config["tokenizer"]["max_train_sentences"] = 1_000_000
    train = config["train"]
    train.update(max_minutes=None, tensorboard=False, early_stopping_patience=None, epochs=1, steps_per_epoch=steps)
    if streaming:  # one "epoch" of `steps` steps of the stream, then validation and the checkpoint
        config["data"]["streaming"] = True
        train["max_steps"] = steps
    if model == "tiny":  # the translation benchmark's model: small and fast, output length bounded
        config["tokenizer"]["vocab_size"] = 1000
        config["model"] = {"cell": "gru", "units": 32, "embedding_dim": 32, "bidirectional": True,
                           "attention": "bilinear"}
        config["decode"] = {"beam_size": 1, "max_length_a": 0.5, "max_length_b": 10}
    return config


def train_once(out: Path, work: Path, pairs: int, steps: int, streaming: bool, model: str = "demo") -> dict:
    """Trains one run in a child process; returns its figures."""
    import yaml

    mode = "streaming" if streaming else "in-memory"
    name = f"{model}_{label(pairs)}_{mode}"
    run_dir = work / name
    shutil.rmtree(run_dir, ignore_errors=True)
    config_path = work / f"{name}.yaml"
    config_path.write_text(yaml.safe_dump(train_config(out, pairs, steps, streaming, model), sort_keys=False))
    print(f"training {name} ...", flush=True)
    child = run_child([str(NMT), "train", "--config", str(config_path), "--run-dir", str(run_dir)],
                      work / f"{name}.log")
    row = {"pairs": pairs, "mode": mode, "code": child.code, "seconds": child.seconds,
           "peak_rss_mib": child.peak_rss_mib, "run_dir": str(run_dir), "log": str(work / f"{name}.log")}
    tokenizers = child.match(r"trained \S+ tokenizers on ([\d,]+) pairs in ([\d.]+) s")  # in memory
    sample = child.match(r"uniform sample of ([\d,]+) of [\d,]+ pairs[^\n]* in ([\d.]+) s")  # streaming
    trained = child.match(r"trained \S+ tokenizers on the sample in ([\d.]+) s")
    if tokenizers:
        row.update(tokenizer_pairs=int(tokenizers.group(1).replace(",", "")),
                   tokenizer_seconds=float(tokenizers.group(2)))
    elif sample and trained:  # drawing the sample (one pass over the corpus) + training on it
        row.update(tokenizer_pairs=int(sample.group(1).replace(",", "")),
                   tokenizer_seconds=float(sample.group(2)) + float(trained.group(1)))
    if child.steps:
        (first_time, first_step), (last_time, last_step) = child.steps[0], child.steps[-1]
        row.update(first_step_seconds=first_time, last_step=last_step)
        if last_step > first_step and last_time > first_time:
            row["steps_per_second"] = (last_step - first_step) / (last_time - first_time)
    if child.code != 0:
        print(f"  FAILED (exit {child.code}); see {row['log']}:\n{child.output[-2000:]}", flush=True)
    else:
        print(f"  {_describe(row)}", flush=True)
    return row


def _describe(row: dict) -> str:
    return ", ".join(f"{key} {value:.2f}" if isinstance(value, float) else f"{key} {value}"
                     for key, value in row.items() if key not in ("run_dir", "log"))


# ----------------------------------------------------------------------------- translation
_RATE = re.compile(r"translating \[#+\] ([\d,]+)/[\d,]+ lines, ([\d,.]+) lines/s")
_CHUNK = re.compile(r"translating ([\d,]+) lines, ")


def translate_once(out: Path, work: Path, model: Path, lines: int, batch_size: int, onednn: str) -> dict:
    """``nmt translate -i translate_LINES.de -o ... --beam 1 --batch-size N --progress`` in a child process.

    ``onednn``: ``on`` (TensorFlow's default) or ``off`` (``TF_ENABLE_ONEDNN_OPTS=0``).
    """
    name = f"translate_{label(lines)}_onednn-{onednn}"
    target = work / f"{name}.en"
    print(f"translating {label(lines)} lines with {model}, oneDNN {onednn} ...", flush=True)
    child = run_child([str(NMT), "translate", "--model", str(model), "-i", str(out / f"translate_{label(lines)}.de"),
                       "-o", str(target), "--beam", "1", "--batch-size", str(batch_size), "--progress"],
                      work / f"{name}.log", marks=_CHUNK, env={"TF_ENABLE_ONEDNN_OPTS": "0"} if onednn == "off" else {})
    row = {"lines": lines, "onednn": onednn, "code": child.code, "seconds": child.seconds, "peak_rss_mib": child.peak_rss_mib}
    rate = _RATE.search(child.output)
    if rate:
        row["lines_per_second"] = float(rate.group(2).replace(",", ""))
    if len(child.steps) >= 2:  # after the first chunk (which traces the search)
        (first_time, first), (last_time, last) = child.steps[0], child.steps[-1]
        row["lines_per_second_after_first_chunk"] = (last - first) / max(1e-9, last_time - first_time)
    if child.code == 0:
        with open(target, "rb") as handle:
            row["output_lines"] = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
        target.unlink()
        print(f"  {_describe(row)}", flush=True)
    else:
        print(f"  FAILED (exit {child.code}):\n{child.output[-2000:]}", flush=True)
    return row


# ----------------------------------------------------------------------------- report
def _fmt(value, spec: str = ",.1f", missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def _target(name: str, ok: bool | None, detail: str) -> str:
    verdict = "n/a" if ok is None else "PASS" if ok else "FAIL"
    return f"- {name}: {detail} — **{verdict}**"


def report(train_rows: list[dict], translate_rows: list[dict], notes: list[str]) -> str:
    lines = []
    if train_rows:
        header = ["pairs", "path", "tokenizers: pairs, s", "first step (s)", "steps/s", "peak RSS (MiB)",
                  "wall (s)", "exit"]
        rows = [[f"{r['pairs']:,}", r["mode"],
                 f"{_fmt(r.get('tokenizer_pairs'), ',d')}, {_fmt(r.get('tokenizer_seconds'))}",
                 _fmt(r.get("first_step_seconds")), _fmt(r.get("steps_per_second"), ".2f"),
                 _fmt(r["peak_rss_mib"], ",.0f"), _fmt(r["seconds"], ",.0f"), r["code"]]
                for r in sorted(train_rows, key=lambda r: (r["pairs"], r["mode"]))]
        lines += ["### Training (`nmt train`, demo model)", "", markdown_table(header, rows), ""]
    if translate_rows:
        header = ["input lines", "oneDNN", "lines/s", "lines/s after the first chunk", "peak RSS (MiB)", "wall (s)",
                  "output lines", "exit"]
        rows = [[f"{r['lines']:,}", r["onednn"], _fmt(r.get("lines_per_second"), ",.0f"),
                 _fmt(r.get("lines_per_second_after_first_chunk"), ",.0f"), _fmt(r["peak_rss_mib"], ",.0f"),
                 _fmt(r["seconds"], ",.0f"), _fmt(r.get("output_lines"), ",d"), r["code"]] for r in translate_rows]
        lines += ["### Translation (`nmt translate -i FILE -o FILE --beam 1 --progress`)", "", markdown_table(header, rows), ""]
    lines += ["### Targets", "", *targets(train_rows, translate_rows), "", *notes]
    return "\n".join(lines)


def targets(train_rows: list[dict], translate_rows: list[dict]) -> list[str]:
    out = []
    for mode in ("streaming", "in-memory"):
        rows = sorted((r for r in train_rows if r["mode"] == mode and r["code"] == 0), key=lambda r: r["pairs"])
        if mode == "in-memory" and not rows:
            continue
        tag = "" if mode == "streaming" else " (in-memory path, for comparison; the targets are for streaming)"
        if len(rows) < 2:
            out.append(_target(f"{mode}: scaling{tag}", None, "fewer than two sizes trained"))
            continue
        small, large = rows[0], rows[-1]
        ratio = large["peak_rss_mib"] / small["peak_rss_mib"]
        out.append(_target(f"peak RSS at {label(large['pairs'])} ≤ 1.25× {label(small['pairs'])}{tag}",
                           ratio <= 1.25, f"{large['peak_rss_mib']:,.0f} / {small['peak_rss_mib']:,.0f} MiB = "
                                          f"{ratio:.2f}×"))
        rates = [r["steps_per_second"] for r in rows if r.get("steps_per_second")]
        if len(rates) == len(rows):
            spread = max(rates) / min(rates) - 1
            out.append(_target(f"steps/s within 10% across sizes{tag}", spread <= 0.10,
                               f"{min(rates):.2f}–{max(rates):.2f} steps/s ({spread:.0%} apart)"))
        first = large.get("first_step_seconds")
        out.append(_target(f"time to first step at {label(large['pairs'])} < 90 s{tag}",
                           None if first is None else first < 90, f"{_fmt(first)} s"))
    for onednn in ("on", "off"):
        done = sorted((r for r in translate_rows if r["code"] == 0 and r["onednn"] == onednn),
                      key=lambda r: r["lines"])
        if len(done) >= 2:
            small, large = done[0], done[-1]
            ratio = large["peak_rss_mib"] / small["peak_rss_mib"]
            out.append(_target(f"translate peak RSS for {label(large['lines'])} lines within 10% of "
                               f"{label(small['lines'])} (oneDNN {onednn})", abs(ratio - 1) <= 0.10,
                               f"{large['peak_rss_mib']:,.0f} / {small['peak_rss_mib']:,.0f} MiB = {ratio:.2f}×"))
    return out


# ----------------------------------------------------------------------------- main
def _onednn(text: str) -> str:
    if not text or any(part not in ("on", "off") for part in text.split(",")):
        raise argparse.ArgumentTypeError(f"{text!r}: give on, off or on,off")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=count_list, default=count_list(DEFAULT_SIZES),
                        help=f"corpus sizes in pairs (default {DEFAULT_SIZES})")
    parser.add_argument("--steps", type=int, default=300, help="training steps per run (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="corpus generator seed (default 0)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT,
                        help=f"corpora, runs and logs (default {DEFAULT_OUT}); outside the repository")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--in-memory", dest="mode", action="store_const", const="in-memory",
                      help="train on the in-memory path only (data.streaming false)")
    mode.add_argument("--streaming", dest="mode", action="store_const", const="streaming",
                      help="train on the streaming path only (data.streaming true, train.max_steps)")
    parser.add_argument("--in-memory-max", type=parse_count, default=parse_count("3M"),
                        help="largest size trained on the in-memory path too (default 3M; the 10M corpus as "
                             "Python strings would not leave room on a 24 GiB machine)")
    parser.add_argument("--translate-lines", type=count_list, default=count_list(DEFAULT_TRANSLATE),
                        help=f"translation input sizes in lines (default {DEFAULT_TRANSLATE})")
    parser.add_argument("--translate-model", type=Path,
                        help="run directory to translate with (default: a tiny GRU trained here on the smallest "
                             "corpus, in memory)")
    parser.add_argument("--translate-batch-size", type=int, default=512,
                        help="--batch-size of the translation runs (default 512: chunks of 4,096 lines)")
    parser.add_argument("--translate-onednn", default="on,off", type=_onednn,
                        help="translate with TensorFlow's oneDNN kernels on, off (TF_ENABLE_ONEDNN_OPTS=0) or both "
                             "(default on,off: with oneDNN the RSS grows over the first tens of thousands of "
                             "lines before it levels, without it the RSS stays flat)")
    parser.add_argument("--skip-train", action="store_true", help="no training runs")
    parser.add_argument("--skip-translate", action="store_true", help="no translation runs")
    parser.add_argument("--generate-only", action="store_true", help="write the corpora, then stop")
    parser.add_argument("--no-write", action="store_true", help="print the table; leave RESULTS.md alone")
    args = parser.parse_args()

    out = args.out_dir.expanduser().resolve()
    if ROOT in out.parents or out == ROOT:
        parser.error(f"--out-dir {out} is inside the repository; choose a folder outside it")
    generate(out, args.sizes, [] if args.skip_translate else args.translate_lines, args.seed)
    if args.generate_only:
        return
    work = out / "runs"
    work.mkdir(exist_ok=True)
    notes, partial = [], []
    modes = [args.mode] if args.mode else ["streaming", "in-memory"]
    if "streaming" in modes and not streaming_available():
        modes.remove("streaming")
        partial.append("streaming path not trained (this nmt lacks data.streaming / train.max_steps)")
    train_rows, translate_rows = [], []
    if not args.skip_translate:
        model = args.translate_model
        if model is None:
            tiny = train_once(out, work, min(args.sizes), 100, streaming=False, model="tiny")
            model = Path(tiny["run_dir"])
            notes.append(f"Translation model: a bidirectional GRU with 32 units and SentencePiece 1,000, trained "
                         f"100 steps in memory on the {label(min(args.sizes))} corpus; greedy search, at most "
                         f"0.5·source + 10 tokens (the run's decode settings), batches of "
                         f"{args.translate_batch_size}. The inputs are the German side of the corpus stream (1–3 "
                         f"Multi30k sentences per line).")
        for onednn in args.translate_onednn.split(","):
            for lines in args.translate_lines:
                translate_rows.append(translate_once(out, work, model, lines, args.translate_batch_size, onednn))
                _save(work, train_rows, translate_rows)

    if not args.skip_train:
        for pairs in args.sizes:
            for mode in modes:
                if mode == "in-memory" and pairs > args.in_memory_max:
                    continue
                train_rows.append(train_once(out, work, pairs, args.steps, mode == "streaming"))
                _save(work, train_rows, translate_rows)
    if args.mode:
        partial.append(f"--{args.mode} only")
    if args.skip_train:
        partial.append("no training (--skip-train)")
    if args.skip_translate:
        partial.append("no translation (--skip-translate)")
    if args.sizes != count_list(DEFAULT_SIZES):
        partial.append(f"sizes {', '.join(map(label, args.sizes))}")
    if args.translate_lines != count_list(DEFAULT_TRANSLATE) and not args.skip_translate:
        partial.append(f"translation inputs {', '.join(map(label, args.translate_lines))} lines")
    if args.translate_onednn != "on,off" and not args.skip_translate:
        partial.append(f"translation with oneDNN {args.translate_onednn} only")
    if args.steps != 300:
        partial.append(f"{args.steps} steps")
    notes = [
        f"Corpus: 1–3 random Multi30k de-en training pairs per pair (seed {args.seed}), gzip files in "
        f"`{out}`. Training: `configs/demo.yaml`'s tokenizer (SentencePiece 8,000, at most 1,000,000 "
        f"sentences), model and optimizer, {args.steps} steps of batch 64, validation on 1,014 synthetic pairs "
        f"from Multi30k val; one epoch of `train.steps_per_epoch: {args.steps}`, and for streaming "
        f"`data.streaming: true`, `train.max_steps: {args.steps}`.",
        "First step: seconds from process start to the progress bar's first step (process start, imports, "
        "reading and cleaning, tokenizer training, pipeline and the first step's tracing). Steps/s: over the "
        "steps after the first (tracing excluded). Peak RSS: the child's own `ru_maxrss` (`os.wait4`). "
        "Translation lines/s: `nmt translate --progress`'s final rate (from the model loaded to the end, the first "
        "chunk's tracing included), and the rate between its first and last chunk lines.",
        *notes,
    ]
    body = report(train_rows, translate_rows, notes)
    title = "Real-size corpora: training and translation cost as the corpus grows"
    if partial:
        title += " (partial run: " + "; ".join(partial) + ")"
    _save(work, train_rows, translate_rows)
    if args.no_write:
        print(f"## {title}\n\n{body}")
    else:
        write_section("corpus_scale", title, body)


def _save(work: Path, train_rows: list[dict], translate_rows: list[dict]) -> None:
    """The figures so far, as JSON (``OUT/runs/results.json``)."""
    (work / "results.json").write_text(json.dumps({"train": train_rows, "translate": translate_rows}, indent=2))


if __name__ == "__main__":
    main()
