"""The tutorial notebooks (notebooks/*.ipynb) run top to bottom with their small CI settings.

Each notebook is copied into a temporary directory and executed there, cell by cell, by a
fresh Jupyter kernel (nbclient) whose environment has ``NMT_NOTEBOOK_SMALL=1`` (the notebooks'
parameters cell then picks tiny settings) and ``NMT_DATA_DIR``. The committed notebooks and
their outputs are never written. A failing cell fails the test with that cell's source and
traceback. ``notebooks/run_notebooks.py`` executes them with their full settings.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(path.name for path in NOTEBOOK_DIR.glob("[0-9]*.ipynb"))
#: Seconds allowed for one cell and for a whole notebook. Each takes a few minutes on 2 cores; on a
#: heavily shared machine (load average above 10) notebook 02's training cell (its tiny training
#: runs) took over 5 minutes and the whole notebook about 12, hence the margins.
CELL_TIMEOUT = 900
NOTEBOOK_TIMEOUT = 1800
_ANSI_COLORS = re.compile(r"\x1b\[[0-9;]*m")


def test_the_tutorial_notebooks_are_there():
    """Guards the parametrized test below, which would silently vanish with no notebook."""
    assert NOTEBOOKS == ["01_quickstart.ipynb", "02_cells_and_attention.ipynb", "03_export_and_serve.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_has_one_parameters_cell_reading_the_small_switch(name):
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: {len(tagged)} cells tagged 'parameters', expected 1"
    assert tagged[0].cell_type == "code" and "NMT_NOTEBOOK_SMALL" in tagged[0].source


@pytest.mark.slow
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom_with_small_settings(name, data_dir, tmp_path, monkeypatch):
    committed = (NOTEBOOK_DIR / name).read_bytes()
    work = tmp_path / "notebooks"  # the kernel's working directory: run directories go here
    work.mkdir()
    shutil.copy(NOTEBOOK_DIR / name, work / name)
    notebook = nbformat.read(work / name, as_version=4)
    # The kernel is a child process: it inherits this environment.
    monkeypatch.setenv("NMT_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("NMT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",  # jupyter_client starts it with this interpreter (sys.executable)
        record_timing=False,
        # TensorFlow's C++ start-up lines go to the test's stderr, not into the cell outputs.
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        resources={"metadata": {"path": str(work)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        message = _ANSI_COLORS.sub("", str(error))  # IPython colors its tracebacks
        pytest.fail(f"{name}: a cell failed with the small settings (NMT_NOTEBOOK_SMALL=1)\n{message}", pytrace=False)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code_cells), f"{name}: some code cells did not run"
    assert (NOTEBOOK_DIR / name).read_bytes() == committed, f"{name}: the committed notebook was modified"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_was_executed_with_its_full_settings(name):
    """Readers see outputs and plots: every code cell ran, in order, without errors, with full settings."""
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), \
        f"{name}: run notebooks/run_notebooks.py and commit the outputs"
    outputs = [output for cell in code for output in cell.outputs]
    assert not any(output.output_type == "error" for output in outputs)
    assert any("image/png" in output.get("data", {}) for output in outputs)
    text = "".join(output.get("text", "") for output in outputs)
    assert "small settings: False" in text
