"""``nmt evaluate``: the test set, its references, the decoding options and the report files.

The test set is ``--src`` with one or more ``--ref`` files (each aligned with ``--src``),
a registered ``--dataset/--pair/--split``, or the run config's ``data.test``. Scores
are sacreBLEU's (:mod:`nmt.evaluation`) against every reference. Without ``--report``,
a run's report goes to ``RUN_DIR/eval/NAME.beamN[TAGS].csv`` (scores beside it as
``.json``), where the tags name every setting that changes the scores and is not the
default: ``.tok-T`` (BLEU tokenizer other than 13a), ``.lc`` (lowercased), ``.lpA``,
``.cpB``, ``.lenA+B``, ``.unk``/``.nounk`` (decoding options that differ from the
model's stored ones) and ``.refsK`` (K references), so evaluations with other
settings never overwrite each other.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from nmt.cli.console import UsageError


def cmd_evaluate(args: argparse.Namespace) -> int:
    from nmt import runs
    from nmt.cli.decoding import changed_settings, check_decode_args, configure
    from nmt.config.base import config_to_dict
    from nmt.evaluation import evaluate

    if args.report is not None and args.report.suffix not in (".csv", ".tsv", ".parquet"):
        raise UsageError(f"--report {args.report}: use a .csv, .tsv or .parquet file name")
    check_tokenizer(args.tokenize, args.lowercase)
    check_decode_args(args)
    if not args.model.exists():
        raise UsageError(f"--model {args.model}: no such file or directory")
    run_dir = runs.run_dir_of(args.model)
    config = runs.read_run_config(run_dir) if run_dir is not None else None
    corpus, references = test_corpus(args, config)  # before loading the model: data errors come fast
    if args.max_sentences:
        corpus = corpus.head(args.max_sentences)
        references = [stream[:args.max_sentences] for stream in references]
    translator = runs.load_translator(args.model)
    stored = translator.config
    kwargs = configure(translator, args)
    beam = kwargs.get("beam_size", translator.config.beam_size)
    start = time.perf_counter()
    result = evaluate(translator, corpus, beam_size=kwargs.get("beam_size"), tokenize=args.tokenize,
                      lowercase=args.lowercase, references=references)
    print(f"({len(corpus):,} sentences in {time.perf_counter() - start:.1f} s, beam {beam})")
    if args.report is not None:
        report, scores = args.report, args.report.with_suffix(".json")
    elif run_dir is not None:
        tags = report_tags(args.tokenize, args.lowercase, changed_settings(stored, translator.config),
                           len(references), translator.config)
        report, scores = (path.with_name(path.stem + tags + path.suffix)
                          for path in runs.evaluation_paths(run_dir, corpus.name, beam))
    else:
        print("no per-sentence report written: give --report PATH")
        return 0
    result.write_sentences(report)
    extra: dict[str, Any] = {"decode": config_to_dict(dataclasses.replace(translator.config, beam_size=beam))}
    if args.ref:
        extra["references"] = [str(path) for path in args.ref]
    runs.write_scores(scores, result, beam_size=beam, tokenize=args.tokenize, lowercase=args.lowercase,
                      model=str(args.model), **extra)
    print(f"per-sentence report: {report}\nscores: {scores}")
    return 0


def check_tokenizer(name: str, lowercase: bool) -> None:
    """Raises UsageError unless sacreBLEU's BLEU tokenizer ``name`` works here (downloads its model if it needs one)."""
    from nmt.evaluation import BLEU_TOKENIZERS, bleu_metric

    if name not in BLEU_TOKENIZERS:
        raise UsageError(f"--tokenize {name!r} is not one of {', '.join(BLEU_TOKENIZERS)}")
    try:
        bleu_metric(name, lowercase)
    except ValueError as error:
        raise UsageError(f"--tokenize {name!r}: {error}") from None


def report_tags(tokenize: str, lowercase: bool, changed: dict[str, Any], references: int, decode) -> str:
    """The report name's settings tags, e.g. ``".tok-intl.lc.lp1"`` (``""`` for the defaults).

    Args:
        changed: the decoding settings that differ from the model's (:func:`nmt.cli.decoding.changed_settings`).
        references: the number of reference streams.
        decode: the DecodeConfig used (for the length limit's other half).
    """
    tags = []
    if tokenize != "13a":
        tags.append(f"tok-{tokenize}")
    if lowercase:
        tags.append("lc")
    if "length_penalty" in changed:
        tags.append(f"lp{changed['length_penalty']:g}")
    if "coverage_penalty" in changed:
        tags.append(f"cp{changed['coverage_penalty']:g}")
    if "max_length_a" in changed or "max_length_b" in changed:
        tags.append(f"len{decode.max_length_a:g}+{decode.max_length_b}")
    if "replace_unknown" in changed:
        tags.append("unk" if changed["replace_unknown"] else "nounk")
    if references > 1:
        tags.append(f"refs{references}")
    return "".join(f".{tag}" for tag in tags)


# ----------------------------------------------------------------------------- the test set
def test_corpus(args: argparse.Namespace, config):
    """``(corpus, references)``: the test corpus and every reference stream (``references[0]`` is its targets).

    From ``--src`` and the ``--ref`` files, ``--dataset/--pair/--split`` or the run's ``data.test``.
    """
    from nmt.config.base import config_from_dict, config_to_dict
    from nmt.config.data import DataConfig
    from nmt.data import check_data_config, languages, pair_name, read_aligned
    from nmt.runs.data import prepare_data

    refs = args.ref or []
    if (args.src is None) != (not refs):
        raise UsageError("--src and --ref go together")
    if args.src is not None:
        if args.dataset or args.split:
            raise UsageError("give either --src/--ref or --dataset/--split, not both")
        langs = languages(config.data) if config is not None else ("src", "ref")
        if args.pair:
            langs = tuple(args.pair.split("-", 1)) if "-" in args.pair else langs
        corpora = [read_aligned(args.src, ref, langs[0], langs[1], name=args.src.name) for ref in refs]
        return corpora[0], [list(corpus.targets) for corpus in corpora]
    if args.dataset is None and config is None:
        raise UsageError("--model has no run config to take a test set from: give --dataset/--pair/--split "
                         "or --src/--ref")
    data = config.data if config is not None else None
    if args.dataset is None or (data is not None and args.dataset == data.dataset):
        dataset = data.dataset
        pair = args.pair or data.pair
        split = args.split or data.test
        if split is None:
            raise UsageError("the run config has no data.test split: give --split (or --src/--ref)")
        if dataset == "files" and args.split:
            split = str(Path(args.split).resolve())
        test = check_data_config(config_from_dict(DataConfig, {**config_to_dict(data), "pair": pair, "test": split},
                                                  where="data"))
    else:
        dataset = args.dataset
        if args.split is None:
            raise UsageError(f"--dataset {dataset} needs --split")
        test = _data_config(dataset, args.pair, args.split)
    if config is not None and dataset != "files" and languages(test) != languages(config.data):
        raise UsageError(f"the model translates {pair_name(config.data)}, the test set is {pair_name(test)}")
    corpus = prepare_data(test, splits=("test",))["test"]
    return corpus, [list(corpus.targets)]


def _data_config(dataset: str, pair: str | None, split: str):
    """A ``DataConfig`` whose ``test`` is ``split`` of a registered dataset (checked: pair, split)."""
    from nmt.config.base import config_from_dict
    from nmt.config.data import DataConfig
    from nmt.data import check_data_config, list_datasets, split_sizes

    if dataset not in list_datasets():
        raise UsageError(f"--dataset {dataset!r} is not one of {', '.join(list_datasets())}")
    train = next(iter(split_sizes(dataset)))
    return check_data_config(config_from_dict(
        DataConfig, {"dataset": dataset, "pair": pair, "train": train, "valid": None, "test": split}, where="data"))
