"""Execute the tutorial notebooks top to bottom and keep their outputs.

    .venv/bin/python notebooks/run_notebooks.py                     # full settings, in place, all three
    .venv/bin/python notebooks/run_notebooks.py 02_cells_and_attention.ipynb
    .venv/bin/python notebooks/run_notebooks.py --small --output-dir /tmp/nb   # CI settings, into copies

Full settings (the default) rewrite ``notebooks/*.ipynb`` in place with fresh outputs; the
kernels run in ``notebooks/``, so their run directories go to ``notebooks/runs/`` (ignored by
git; notebook 03 reuses ``runs/01_quickstart/translator`` from notebook 01 when it is there).
``--small`` sets ``NMT_NOTEBOOK_SMALL=1`` (what ``tests/test_notebooks.py`` does) and needs
``--output-dir``, so small-settings outputs never replace the committed ones. Notebooks run
one after the other, in name order; the first failing cell stops the script with its
traceback (exit status 1), and that notebook is not written.

The corpora come from ``NMT_DATA_DIR``, else ``../shared/data`` beside the repository (as in
the Makefile). Needs the ``dev`` extra (nbclient, ipykernel) and the ``plot`` extra (matplotlib).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent
#: TensorFlow's C++ start-up lines (CUDA probing, oneDNN notes) are written to the kernel's file
#: descriptor 2; keep them in this script's stderr instead of in every notebook's outputs.
KERNEL_ARGUMENTS = ["--IPKernelApp.capture_fd_output=False"]
ANSI_COLORS = re.compile(r"\x1b\[[0-9;]*m")
REPO = NOTEBOOK_DIR.parent


def notebooks(names: list[str]) -> list[Path]:
    """The notebooks to run: ``names`` (file names or paths) or every ``notebooks/*.ipynb``."""
    if not names:
        return sorted(NOTEBOOK_DIR.glob("[0-9]*.ipynb"))
    paths = []
    for name in names:
        path = Path(name) if Path(name).exists() else NOTEBOOK_DIR / name
        if not path.is_file():
            raise SystemExit(f"run_notebooks: no notebook {name!r} (looked in {NOTEBOOK_DIR})")
        paths.append(path.resolve())
    return paths


def execute(path: Path, output: Path, *, timeout: int, small: bool) -> float:
    """Runs ``path`` in ``output``'s directory and writes the executed notebook to ``output``."""
    import nbformat
    from nbclient import NotebookClient

    os.environ["TF_CPP_MIN_LOG_LEVEL"] = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")
    if small:
        os.environ["NMT_NOTEBOOK_SMALL"] = "1"
    else:
        os.environ.pop("NMT_NOTEBOOK_SMALL", None)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                            extra_arguments=KERNEL_ARGUMENTS, resources={"metadata": {"path": str(output.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the cell and its traceback) on the first failure
    seconds = time.perf_counter() - start
    nbformat.write(notebook, output)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all, in name order)")
    parser.add_argument("--small", action="store_true", help="CI settings (NMT_NOTEBOOK_SMALL=1); needs --output-dir")
    parser.add_argument("--output-dir", type=Path, help="write executed copies here instead of in place")
    # Notebook 02 trains eight models in one cell: about 20 minutes on 2 quiet cores, over an hour on busy ones.
    parser.add_argument("--timeout", type=int, default=7200, help="seconds allowed per cell (default 7200)")
    args = parser.parse_args(argv)
    if args.small and args.output_dir is None:
        parser.error("--small needs --output-dir: small-settings outputs must not replace the committed ones")
    if "NMT_DATA_DIR" not in os.environ and (REPO.parent / "shared" / "data" / "multi30k").is_dir():
        os.environ["NMT_DATA_DIR"] = str(REPO.parent / "shared" / "data")

    from nbclient.exceptions import CellExecutionError

    total = 0.0
    for path in notebooks(args.names):
        if args.output_dir is None:
            output = path
        else:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            output = args.output_dir.resolve() / path.name
            if output != path:
                shutil.copy(path, output)
        print(f"{path.name}: running ({'small' if args.small else 'full'} settings) ...", flush=True)
        try:
            seconds = execute(path, output, timeout=args.timeout, small=args.small)
        except CellExecutionError as error:
            message = ANSI_COLORS.sub("", str(error))  # IPython colors its tracebacks
            print(f"{path.name}: a cell failed\n{message}", file=sys.stderr)
            return 1
        total += seconds
        print(f"{path.name}: {seconds / 60:.1f} minutes -> {output}", flush=True)
    print(f"all done in {total / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
