"""One function per ``nmt`` subcommand: ``cmd_train``, ``cmd_translate``, ..."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nmt.cli.console import UsageError
from nmt.cli.evaluating import cmd_evaluate


# ----------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    from nmt import runs
    from nmt.config.run import load_run_config

    run_dir: Path = args.run_dir
    overrides = list(args.overrides)
    if getattr(args, "init_from", None) is not None:  # a JSON string is a YAML string: any path survives
        overrides.append(f"train.init_from={json.dumps(str(args.init_from))}")
    if args.config is None:
        stored = run_dir / runs.CONFIG_FILE
        if not stored.is_file():
            raise UsageError(f"--config is required: {run_dir} holds no run ({runs.CONFIG_FILE} not found)")
        config = load_run_config(stored, overrides, stored=True)
    else:
        config = load_run_config(args.config, overrides)
    print(f"== run directory {run_dir}")
    if config.train.init_from is not None:
        print(f"  fine-tuning {config.train.init_from} (train.init_from)")
    run = runs.open_run(config, run_dir)  # checks config.data first: a bad dataset leaves run_dir alone
    if run.status == "continue":
        print(f"  continuing a finished run up to epoch {config.train.epochs}")
    result = runs.train_run(run, verbose=2 if args.quiet else "auto")
    state = result.state
    if not result.epochs:
        print("  no epoch left to train")
    print(f"  {result.parameters:,} parameters; {len(result.epochs)} epoch(s) in {result.seconds:.0f} s")
    if state is not None and state.best is not None:
        print(f"  best {config.train.monitor} {state.best:.4f} at epoch {state.best_epoch} "
              f"({state.epoch} epochs completed{', stopped early' if state.stopped else ''})")
    print(f"  translator: {run_dir / runs.TRANSLATOR_DIR}\n"
          f"  next: nmt evaluate --model {run_dir}   |   nmt translate --model {run_dir} -i FILE")
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from nmt import runs
    from nmt.cli import textio as cli_io
    from nmt.cli.decoding import check_decode_args, configure, output_lines, translate_chunks

    check_decode_args(args)
    translator = runs.load_translator(args.model)
    kwargs = configure(translator, args)
    if args.input == "-" and sys.stdin.isatty():  # interactive: one line at a time
        with cli_io.open_output(args.output) as out:
            for index, line in enumerate(cli_io.iter_stdin_lines()):
                cli_io.write_lines(out, output_lines(translator, [line], args, kwargs, first_index=index))
        return 0
    lines = cli_io.open_lines(args.input)  # lazy: one chunk at a time
    forced = getattr(args, "progress", False)
    enabled = not args.quiet and (forced or args.input != "-")
    total = cli_io.count_lines(args.input) if enabled and sys.stderr.isatty() else None
    progress = cli_io.Progress(total, "translating", enabled=enabled, every_update=forced)
    try:
        with cli_io.open_output(args.output) as out:
            for count, output in translate_chunks(translator, lines, args, kwargs):
                cli_io.write_lines(out, output)
                progress.update(count)
    except BaseException:
        progress.abandon()
        raise
    progress.close()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from nmt import runs

    if (args.model / runs.SAVED_MODEL_FILE).is_file():
        raise UsageError(f"--model {args.model} is already an export")
    translator = runs.load_translator(args.model)
    out = args.out or (runs.run_dir_of(args.model) or args.model) / runs.EXPORT_DIR
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise UsageError(f"{out} already exists; pass --overwrite to replace it, or choose --out")
    try:
        translator.export(out, overwrite=args.overwrite)
    except FileExistsError as error:  # e.g. --overwrite on a directory that is not an export
        raise UsageError(str(error)) from None
    print(f"SavedModel: {out}\n  nmt translate --model {out} -i FILE")
    return 0


def cmd_plot_attention(args: argparse.Namespace) -> int:
    from nmt import runs

    try:
        from nmt.plotting import plot_translation
    except ImportError as error:
        raise UsageError(str(error)) from None
    translator = runs.load_translator(args.model)
    if not args.text.strip():
        raise UsageError("--text is empty")
    if not args.out.parent.is_dir():
        raise UsageError(f"--out {args.out}: the folder {args.out.parent} does not exist")
    plot_translation(translator, args.text, path=args.out, beam_size=args.beam)
    print(f"{translator.translate(args.text, beam_size=args.beam)}\nattention heatmap: {args.out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from nmt import runs
    from nmt.config.run import dump_yaml
    from nmt.data import pair_name

    info = runs.run_info(args.run_dir)  # checks the stored data section against the registry
    config, state = info.config, info.state
    done = state.epoch if state else 0
    status = "finished" if info.finished else f"unfinished ({done} of {config.train.epochs} epochs completed)"
    data = config.data
    splits = ", ".join(f"{name}: {getattr(data, name)}" for name in ("train", "valid", "test") if getattr(data, name))
    lines = [f"run directory: {info.run_dir} ({status})", f"data: {data.dataset} {pair_name(data)} ({splits})"]
    if info.vocab_sizes:
        lines.append(f"vocabulary: source {info.vocab_sizes[0]:,}, target {info.vocab_sizes[1]:,} "
                     f"({config.tokenizer.kind})")
        lines.append(f"parameters: {info.parameters:,}")
    lines.append(f"data reading: {info.data_reading}")
    lines.append(f"training setup: {info.distribution}")
    for layer, blockers in info.cudnn:
        lines.append(f"  {layer}: " + ("cuDNN kernel on a GPU" if not blockers
                                         else "no cuDNN kernel (" + "; ".join(blockers) + ")"))
    if state is not None:
        lines.append(f"training: {state.epoch} epochs, {state.step:,} steps"
                     f"{f' ({state.epoch_step} into epoch {state.epoch + 1})' if state.epoch_step else ''}"
                     f"{', stopped early' if state.stopped else ''}")
    if info.average is not None:
        lines.append(f"translator: the average of {len(info.average['average_of'])} checkpoints "
                     f"({', '.join(info.average['average_of'])}; nmt average / train.average_last), "
                     f"not the best checkpoint")
    if info.best:
        lines.append("best validation scores (history.csv): " + ", ".join(
            f"{name} {value:.4f} (epoch {epoch})" for name, (value, epoch) in info.best.items()))
    for record in info.evaluations:
        lines.append(f"evaluation {record['file']}: BLEU {record.get('bleu', float('nan')):.2f}, "
                     f"chrF {record.get('chrf', float('nan')):.2f}, TER {record.get('ter', float('nan')):.2f} "
                     f"({record.get('sentences', '?')} sentences; {record.get('signatures', {}).get('bleu', '')})")
    lines.append("config:")
    lines.extend(f"  {line}" for line in dump_yaml(config).splitlines())
    print("\n".join(lines))
    return 0


def cmd_average(args: argparse.Namespace) -> int:
    from nmt.runs.average import average_run

    result = average_run(args.model, args.last, args.out)
    steps = ", ".join(f"{name} (step {step:,})" for name, step in zip(result.checkpoints, result.steps))
    print(f"averaged {len(result.checkpoints)} checkpoint(s) of {args.model}: {steps}\n"
          f"translator: {result.translator_dir}\n"
          f"  next: nmt evaluate --model {args.out or args.model}   |   nmt export --model {args.out or args.model}")
    return 0


COMMANDS = {
    "train": cmd_train,
    "translate": cmd_translate,
    "evaluate": cmd_evaluate,
    "export": cmd_export,
    "plot-attention": cmd_plot_attention,
    "info": cmd_info,
    "average": cmd_average,
}
