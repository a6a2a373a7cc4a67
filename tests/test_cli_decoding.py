"""Decoding options of ``nmt translate`` / ``nmt evaluate`` (nmt.cli.decoding) on a tiny untrained translator.

The translator (random weights, character tokenizers) is built once per module and
saved; an untrained model rarely ends a sentence early, so length limits show in its
output. To keep the tests fast, ``nmt.runs.load_translator`` hands out shallow copies
of the one in-memory translator for its directory (the copies share its compiled
graphs; each command sets its own ``config``); exports are loaded for real.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from fakes import FakeModel, assert_user_error, run_cli, train_tiny

from nmt import runs
from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig
from nmt.tokenizers import CharTokenizer, TokenizerConfig
from nmt.translate.translator import Translator

SOURCES = ["ein hund", "eine katze", "zwei hunde", "der mann", "die frau", "ein kind"]
TARGETS = ["a dog", "a cat", "two dogs", "the man", "the woman", "a child"]
INPUT = ["ein hund", "", "die frau und der mann", "zwei hunde"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(translator directory, input file) of an untrained character translator, beam 3, batches of 2."""
    folder = tmp_path_factory.mktemp("decoding")
    config = DecodeConfig(beam_size=3, max_length_a=0.5, max_length_b=6, batch_size=2, max_input_length=30)
    translator = train_tiny(list(zip(SOURCES, TARGETS)), kind="char", vocab_size=(24, 20), steps=0,
                            model_config=ModelConfig(units=12, embedding_dim=8), config=config, seed=3)
    translator.save(folder / "translator")
    (folder / "input.de").write_text("\n".join(INPUT) + "\n", encoding="utf-8")
    real = runs.load_translator
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runs, "load_translator", lambda path, log=None: copy.copy(translator)
                      if Path(path) == folder / "translator" else real(path))
        yield folder / "translator", folder / "input.de"


def translate(capsys, saved, *options) -> list[str]:
    model, source = saved
    code, out, err = run_cli(capsys, "translate", "--model", model, "-i", source, "-q", *options)
    assert code == 0, err
    return out.split("\n")[:-1]


@pytest.mark.parametrize("options, fragments", [
    (["--length-penalty", "-1"], ["--length-penalty", "-1 must be a non-negative number"]),
    (["--coverage-penalty", "nan"], ["--coverage-penalty", "non-negative"]),
    (["--max-length-b", "-2"], ["--max-length-b", "at least 0"]),
    (["--batch-size", "0"], ["--batch-size", "at least 1"]),
    (["--n-best", "4", "--beam", "3"], ["--n-best 4 needs a beam of at least 4, got --beam 3"]),
    (["--n-best-format", "tsv"], ["--n-best-format needs --n-best"]),
    (["--n-best", "2", "--replace-unknown"], ["--replace-unknown", "--n-best"]),
    (["--max-length-a", "0", "--max-length-b", "0"], ["--max-length-a 0 and --max-length-b 0 allow no output"]),
])
def test_invalid_decoding_options_are_one_line_errors(capsys, saved, options, fragments):
    code, _, err = run_cli(capsys, "translate", "--model", saved[0], "-i", saved[1], *options)
    assert_user_error(code, err, *fragments)


def test_n_best_lines_and_tsv(capsys, saved):
    best = translate(capsys, saved)
    lines = translate(capsys, saved, "--n-best", "3")
    assert len(lines) == 3 * len(INPUT)
    assert lines[0::3] == best  # the first of each group is the 1-best translation
    assert lines[3:6] == ["", "", ""]  # an empty line gives K empty lines
    rows = [line.split("\t") for line in translate(capsys, saved, "--n-best", "3", "--n-best-format", "tsv")]
    assert [(int(r[0]), int(r[1])) for r in rows] == [(i, k) for i in range(len(INPUT)) for k in (1, 2, 3)]
    assert [r[3] for r in rows] == lines
    scores = [float(r[2]) for r in rows[:3]]
    assert scores == sorted(scores, reverse=True)
    assert len(translate(capsys, saved, "--n-best", "4")) == 4 * len(INPUT)  # the beam grows to K


def test_penalties_change_scores_and_batch_size_changes_nothing(capsys, saved):
    tsv = ["--n-best", "2", "--n-best-format", "tsv"]
    plain = [r.split("\t")[2] for r in translate(capsys, saved, *tsv, "--length-penalty", "0")]
    penalized = [r.split("\t")[2] for r in translate(capsys, saved, *tsv, "--length-penalty", "2")]
    covered = [r.split("\t")[2] for r in translate(capsys, saved, *tsv, "--length-penalty", "0",
                                                   "--coverage-penalty", "1")]
    assert plain != penalized and plain != covered
    assert translate(capsys, saved, "--batch-size", "1") == translate(capsys, saved)


def test_max_length_limits_the_output(capsys, saved):
    short = translate(capsys, saved, "--beam", "1", "--max-length-a", "0", "--max-length-b", "1")
    longer = translate(capsys, saved, "--beam", "1", "--max-length-a", "0", "--max-length-b", "8")
    assert all(len(s) <= 1 for s in short)  # one character token at most
    assert all(long.startswith(s) for s, long in zip(short, longer))  # greedy: the same first token
    assert sum(map(len, longer)) > sum(map(len, short))


def test_replace_unknown_and_back(capsys, saved, monkeypatch):
    src_tok = CharTokenizer(TokenizerConfig(kind="char", vocab_size=10), characters=list("abcxyz"))
    tgt_tok = CharTokenizer(TokenizerConfig(kind="char", vocab_size=8), characters=list("abcd"))
    fake = Translator(FakeModel(), src_tok, tgt_tok, DecodeConfig(beam_size=1))  # emits [UNK] attending to x/a
    source = saved[0].parent / "xyz.txt"
    source.write_text("xyz\nab\n")
    for stored in (True, False):
        def load(path, log=None, stored=stored):
            translator = copy.copy(fake)
            translator.config = DecodeConfig(beam_size=1, replace_unknown=stored)
            return translator

        monkeypatch.setattr(runs, "load_translator", load)
        assert run_cli(capsys, "translate", "--model", saved[0], "-i", source, "--replace-unknown")[1] == "y\nb\n"
        assert run_cli(capsys, "translate", "--model", saved[0], "-i", source, "--no-replace-unknown")[1] == \
            "\u2047\n\u2047\n"
        default = run_cli(capsys, "translate", "--model", saved[0], "-i", source)[1]
        assert default == ("y\nb\n" if stored else "\u2047\n\u2047\n")


@pytest.mark.slow
def test_an_export_takes_beam_batch_size_and_n_best_only(capsys, saved, tmp_path):
    model, source = saved
    export = tmp_path / "export"
    assert run_cli(capsys, "export", "--model", model, "--out", export)[0] == 0
    code, _, err = run_cli(capsys, "translate", "--model", export, "-i", source, "--length-penalty", "1",
                           "--max-length-b", "3")
    assert_user_error(code, err, "--length-penalty, --max-length-b", "SavedModel export", "fixed at export time")
    options = ["--beam", "2", "--batch-size", "1", "--n-best", "2", "--n-best-format", "tsv"]
    from_export = [row.split("\t") for row in translate(capsys, (export, source), *options)]
    from_run = [row.split("\t") for row in translate(capsys, saved, *options)]
    assert [(r[0], r[1], r[3]) for r in from_export] == [(r[0], r[1], r[3]) for r in from_run]
    assert [float(r[2]) for r in from_export] == pytest.approx([float(r[2]) for r in from_run], abs=1e-4)
