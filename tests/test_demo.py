"""`make demo` (python -m nmt.cli.demo) with the smoke settings, end to end, and its rerun."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nmt.cli.demo import corpus_statistics, main
from nmt.data import ParallelCorpus


def test_corpus_statistics_one_line_per_split():
    corpus = ParallelCorpus(("a b c", "d"), ("x y", "z"), "de", "en", "toy/train")
    text = corpus_statistics({"train": corpus})
    assert text.count("\n") == 0 and "2 pairs" in text and "de:   2.0 words (max 3)" in text


def test_demo_user_errors_are_one_line(capsys, tmp_path):
    (tmp_path / "mine.txt").write_text("not a run")
    assert main(["--smoke", "--run-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nmt.cli.demo: error: ") and "is not a run directory" in err and "\n" not in err
    assert main(["--smoke", "--run-dir", str(tmp_path / "new"), "--set", "model.typo=1"]) == 2
    assert "valid keys" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_smoke_end_to_end_then_rerun_reuses_the_run(tmp_path, data_dir, capsys):
    run_dir = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "nmt.cli.demo", "--smoke", "--run-dir", str(run_dir),
                             "--test-sentences", "20"], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "NMT_DATA_DIR": str(data_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for step in ("== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "== 6.", "== Results"):
        assert step in out
    assert out.count("nrefs:1|case:mixed|eff:no|tok:13a") == 2  # greedy and beam 5, with signatures
    for name in ("config.yaml", "translator/translator.json", "attention.png", "training_curves.png",
                 "export/saved_model.pb", "eval/multi30k.de-en.test_2016_flickr.beam1.csv",
                 "eval/multi30k.de-en.test_2016_flickr.beam5.json", "history.csv"):
        assert (run_dir / name).is_file(), name
        assert str(run_dir / name.split("/")[0]) in out or name.startswith("eval/"), name

    assert main(["--smoke", "--run-dir", str(run_dir), "--test-sentences", "5", "--no-export"]) == 0
    out = capsys.readouterr().out
    assert "finished run" in out and "0 epoch(s)" in out  # reused, not retrained
