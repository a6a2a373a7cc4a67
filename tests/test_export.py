"""SavedModel export (issue 5): the signatures equal the Python Translator bit for bit; writes are atomic.

Fast tests use the shared tiny SentencePiece translator (``tiny_translator``, trained
for a few dozen steps on a dozen pairs), exported once per module; strings, scores and
attention of every signature equal the Translator's exactly. The slow tests train a small model on Multi30k
for 200 steps and check, in a fresh Python process that cannot import ``nmt``, that
``serving_default`` returns exactly ``Translator.translate``'s strings for all 1,000
``test_2016_flickr`` sentences; and that ``saved_model_cli`` shows and runs the export.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from fakes import PAIRS, FakeModel, train_tiny

import nmt
from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig
from nmt.export.loader import ExportedTranslator, load_exported
from nmt.export.writer import METADATA_FILE, SIGNATURES, TranslatorModule
from nmt.fileutils import atomic_directory
from nmt.models.seq2seq import Seq2Seq
from nmt.tokenizers import TokenizerConfig, tokenizer_class
from nmt.translate.translator import Translator, TruncationWarning

TEXTS = [
    "ein hund rennt", "", "die katze schläft", "   ", "zwei kinder lachen und spielen", "\n\t",
    "der mann", "Ein Hund rennt.", "ein hund " * 20, "🐕 ein hund", "x", "die frau singt und der mann liest",
]


def _strings(tensor: tf.Tensor) -> list:
    """``tf.string`` tensor -> nested lists of str."""
    return np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(tensor.numpy()).tolist()


def quiet_translate(translator: Translator, texts, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        return translator.translate(texts, **kwargs)


@pytest.fixture(scope="module")
def translator(tiny_translator) -> Translator:
    return tiny_translator


@pytest.fixture(scope="module")
def export_dir(translator, tmp_path_factory) -> Path:
    return translator.export(tmp_path_factory.mktemp("export") / "de_en")


@pytest.fixture(scope="module")
def exported(export_dir):
    return load_exported(export_dir)


# ---------------------------------------------------------------------- signatures
def assert_same(actual, expected):
    """Bit for bit the same float32 numbers: the Translator runs each batch that holds the whole
    list through the graph every signature traces (:func:`nmt.translate.graph.translate_text`),
    in input order, so a signature call on the same list does exactly the same arithmetic."""
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected, np.float32), strict=True)


def test_the_tiny_translator_is_not_trivial(translator):
    outputs = quiet_translate(translator, [s for s, _ in PAIRS])
    assert len(set(outputs)) >= 6 and all(outputs), outputs


def test_serving_default_equals_translate(translator, exported):
    out = exported.signatures["serving_default"](text=tf.constant(TEXTS))
    assert set(out) == {"translation", "score"}
    assert out["translation"].dtype == tf.string and out["score"].dtype == tf.float32
    expected = quiet_translate(translator, TEXTS, return_attention=True)
    assert _strings(out["translation"]) == [t.text for t in expected]
    assert_same(out["score"], [t.score for t in expected])
    assert [_strings(exported.translate(tf.constant([text]))["translation"])[0] for text in TEXTS] == \
        [t.text for t in expected]  # one at a time equals in a batch
    assert exported.signatures["serving_default"](text=tf.constant([], tf.string))["translation"].shape == [0]
    assert len(_strings(exported.translate(tf.constant([b"\xff\xfe hund", b"ein \xc3"]))["translation"])) == 2


def test_nbest_signature_equals_translate_nbest(translator, exported):
    nbest = exported.signatures["translate_nbest"]
    out = nbest(text=tf.constant(TEXTS), beam_size=tf.constant(4), num_hypotheses=tf.constant(3),
                max_length=tf.constant(-1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        expected = translator.translate_nbest(TEXTS, 3, beam_size=4)
    assert _strings(out["translations"]) == [[h.text for h in hyps] for hyps in expected]
    assert_same(out["scores"], [[h.score for h in hyps] for hyps in expected])
    assert_same(out["log_probs"], [[h.log_prob for h in hyps] for hyps in expected])
    # Beam size 1 is greedy search; a non-negative max_length replaces the a*s+b rule.
    greedy = nbest(text=tf.constant(TEXTS), beam_size=tf.constant(1), num_hypotheses=tf.constant(1),
                   max_length=tf.constant(-1))
    expected = quiet_translate(translator, TEXTS, beam_size=1, return_attention=True)
    assert _strings(greedy["translations"]) == [[t.text] for t in expected]
    assert_same(greedy["scores"], [[t.score] for t in expected])
    assert_same(greedy["log_probs"], [[t.log_prob] for t in expected])
    assert_same(greedy["scores"], greedy["log_probs"])  # greedy search ranks by the model score
    capped = exported.translate_nbest(tf.constant(TEXTS), 2, 2, 1)
    expected = translator.translate_nbest(TEXTS, 2, beam_size=2, max_length=1)
    assert _strings(capped["translations"]) == [[h.text for h in hyps] for hyps in expected]
    assert_same(capped["scores"], [[h.score for h in hyps] for hyps in expected])
    assert_same(capped["log_probs"], [[h.log_prob for h in hyps] for hyps in expected])


def test_attention_signature_equals_translate_with_attention(translator, exported):
    out = exported.signatures["translate_with_attention"](
        text=tf.constant(TEXTS), beam_size=tf.constant(3), num_hypotheses=tf.constant(2),
        max_length=tf.constant(-1))
    expected = quiet_translate(translator, TEXTS, return_attention=True)
    assert [row[0] for row in _strings(out["translations"])] == [t.text for t in expected]
    assert_same(out["scores"][:, 0], [t.score for t in expected])
    assert_same(out["log_probs"][:, 0], [t.log_prob for t in expected])
    for i, translation in enumerate(expected):
        length, source_length = int(out["target_length"][i]), int(out["source_length"][i])
        assert tuple(_strings(out["target_tokens"][i])[:length]) == translation.tokens
        assert tuple(_strings(out["source_tokens"][i])[:source_length]) == translation.source_tokens
        assert_same(out["attention"][i, :length, :source_length], translation.attention)
        assert not out["attention"][i, length:].numpy().any() and not out["attention"][i, :, source_length:].numpy().any()
        assert all(token == "" for token in _strings(out["target_tokens"][i])[length:])
    assert int(out["target_length"][1]) == 0 and int(out["source_length"][1]) == 0  # the empty input


def test_the_exported_translator_equals_the_translator(translator, export_dir):
    exported = ExportedTranslator(export_dir)
    assert exported.translate(TEXTS) == quiet_translate(translator, TEXTS)
    assert exported.translate(TEXTS, beam_size=1) == quiet_translate(translator, TEXTS, beam_size=1)
    for got, expected in zip(exported.translate(TEXTS, return_attention=True),
                             quiet_translate(translator, TEXTS, return_attention=True), strict=True):
        assert (got.text, got.score, got.log_prob, got.tokens, got.source_tokens) == \
            (expected.text, expected.score, expected.log_prob, expected.tokens, expected.source_tokens)
        np.testing.assert_array_equal(got.attention, expected.attention, strict=True)


@pytest.mark.parametrize(("beam_size", "n", "message"), [
    (2, 3, "num_hypotheses must be <= beam_size"),
    (0, 1, "beam_size must be >= 1"),
    (17, 1, "beam_size must be <= 16"),
    (2, 0, "num_hypotheses must be >= 1"),
])
def test_invalid_search_settings_are_clear_errors(exported, beam_size, n, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        exported.translate_nbest(tf.constant(["ein hund"]), beam_size, n, -1)


# ---------------------------------------------------------------------- files
def test_the_export_is_relocatable_and_carries_its_assets(translator, export_dir, tmp_path):
    moved = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(export_dir, moved)
    assets = sorted(p.name for p in (moved / "assets").iterdir())
    assert assets == [METADATA_FILE, "source_sentencepiece.model", "source_tokenizer.json",
                      "target_sentencepiece.model", "target_tokenizer.json"]
    assert (moved / "assets" / "source_sentencepiece.model").read_bytes() == translator.source_tokenizer.model_proto
    metadata = json.loads((moved / "assets" / METADATA_FILE).read_text())
    assert metadata["signatures"] == list(SIGNATURES) and metadata["decode"]["beam_size"] == 3
    assert metadata["source_tokenizer"] == {"kind": "sentencepiece", "vocab_size": translator.source_tokenizer.vocab_size}
    graph = (moved / "saved_model.pb").read_bytes()
    assert str(export_dir).encode() not in graph and str(export_dir.parent).encode() not in graph
    # No absolute path to an asset either (the SentencePiece proto itself names the deleted temporary
    # rule file it was trained with, which nothing reads).
    assert re.findall(rb"/[^\x00-\x1f\"]*/(?:source_|target_|nmt_export)[a-z_.]*", graph) == []
    loaded = load_exported(moved)
    assert Path(loaded.assets[METADATA_FILE].asset_path.numpy().decode()) == moved / "assets" / METADATA_FILE
    text = ["ein hund rennt", "die frau liest"]
    assert _strings(loaded.translate(tf.constant(text))["translation"]) == quiet_translate(translator, text)


def test_an_existing_target_needs_overwrite(translator, export_dir, tmp_path):
    with pytest.raises(FileExistsError, match=f"{export_dir}.*overwrite=True"):
        translator.export(export_dir)
    other = tmp_path / "not_a_model"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="does not look like a SavedModel"):
        translator.export(other, overwrite=True)
    assert (other / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="max_beam_size"):
        translator.export(tmp_path / "x", max_beam_size=2)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_an_interrupted_export_leaves_no_target_and_no_temporary_directory(translator, export_dir, tmp_path,
                                                                            monkeypatch):
    def crash(module, directory, **kwargs):
        Path(directory, "saved_model.pb").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(tf.saved_model, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        translator.export(tmp_path / "new")
    assert not (tmp_path / "new").exists() and _leftovers(tmp_path) == []
    # Replacing an existing export: the old one stays whole.
    old = tmp_path / "old"
    shutil.copytree(export_dir, old)
    before = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    with pytest.raises(KeyboardInterrupt):
        translator.export(old, overwrite=True)
    assert {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()} == before
    assert _leftovers(tmp_path) == []

    def fake(module, directory, **kwargs):
        Path(directory, "saved_model.pb").write_bytes(b"new")

    monkeypatch.setattr(tf.saved_model, "save", fake)
    translator.export(old, overwrite=True)
    assert sorted(p.name for p in old.iterdir()) == ["saved_model.pb"] and _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["saved", "saved.keras"])
def test_an_interrupted_save_leaves_the_target_as_it_was(translator, tmp_path, monkeypatch, name):
    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(keras.saving, "save_model", crash)
        with pytest.raises(RuntimeError, match="disk full"):
            translator.save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    translator.save(tmp_path / name)
    with monkeypatch.context() as patch:
        patch.setattr(keras.saving, "save_model", crash)
        with pytest.raises(RuntimeError, match="disk full"):
            translator.save(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    text = ["ein hund rennt"]
    assert Translator.load(tmp_path / name).translate(text) == translator.translate(text)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        translator.save(tmp_path / name, overwrite=False)


def test_save_never_replaces_a_directory_that_is_not_a_translator(translator, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.csv").write_text("epoch\n")
    with pytest.raises(FileExistsError, match="does not look like a saved translator"):
        translator.save(tmp_path / "run")
    assert (tmp_path / "run" / "history.csv").is_file()
    (tmp_path / "empty").mkdir()
    translator.save(tmp_path / "empty")  # an empty directory is fine
    assert (tmp_path / "empty" / "translator.json").is_file()


def test_atomic_directory_renames_on_success_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target) as scratch:
        assert scratch.parent == tmp_path and scratch.name.startswith(".out.tmp-")
        (scratch / "a.txt").write_text("1")
        assert not target.exists()
    assert (target / "a.txt").read_text() == "1"
    with pytest.raises(FileExistsError, match=str(target)):
        with atomic_directory(target):
            pass
    with pytest.raises(OSError, match="disk full"):
        with atomic_directory(target, overwrite=True) as scratch:
            (scratch / "b.txt").write_text("2")
            raise OSError("disk full")
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"] and _leftovers(tmp_path) == []
    with atomic_directory(target, overwrite=True, replaceable=lambda p: (p / "a.txt").exists()) as scratch:
        (scratch / "b.txt").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"] and _leftovers(tmp_path) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a directory"):
        with atomic_directory(tmp_path / "file", overwrite=True):
            pass


# ---------------------------------------------------------------------- loading
def test_load_exported_is_lazy_and_checks_the_path(tmp_path):
    assert nmt.load_exported is load_exported and "load_exported" in nmt.__all__
    with pytest.raises(FileNotFoundError, match="saved_model.pb"):
        load_exported(tmp_path)
    script = "import sys, nmt; print(sorted(m for m in ('tensorflow', 'keras', 'nmt.export.writer') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.strip() == "[]"


def test_unknown_words_are_replaced_in_the_graph(tmp_path):
    kind = "char"
    src_tok = tokenizer_class(kind)(TokenizerConfig(kind=kind, vocab_size=10), characters=list("abcxyz"))
    tgt_tok = tokenizer_class(kind)(TokenizerConfig(kind=kind, vocab_size=8), characters=list("abcd"))
    fake = Translator(FakeModel(), src_tok, tgt_tok, DecodeConfig(beam_size=2, replace_unknown=True))
    module = TranslatorModule(fake, {}, max_beam_size=4)
    texts = ["xyz", "", "ab"]
    assert _strings(module.translate(tf.constant(texts))["translation"]) == fake.translate(texts) == ["y", "", "b"]
    nbest = module.translate_nbest(tf.constant(texts), 2, 1, -1)  # as translate_nbest: no replacement
    assert [row[0] for row in _strings(nbest["translations"])] == ["\u2047", "", "\u2047"]


@pytest.mark.slow
@pytest.mark.parametrize("model_config", [
    pytest.param(ModelConfig(cell="lstm", units=8, embedding_dim=6, layers=2, attention="bilinear",
                             input_feeding=True, layer_norm=True, residual=True), id="lstm-2l-if-norm"),
    pytest.param(ModelConfig(cell="rnn", units=8, embedding_dim=8, bidirectional=False, attention="none",
                             bridge="last", tie_embeddings=True), id="rnn-no-attention-tied"),
])
def test_other_model_variants_trace_and_match(model_config):
    # The exported functions trace without autograph (as keras.export does): check other cells and options.
    translator = train_tiny(PAIRS[:4], kind="char", vocab_size=40, steps=0, model_config=model_config)
    module = TranslatorModule(translator, {}, max_beam_size=4)
    texts = ["ein hund rennt", "", "die frau"]
    out = module.translate_nbest(tf.constant(texts), 2, 2, 3)  # traces greedy and beam search
    expected = translator.translate_nbest(texts, 2, beam_size=2, max_length=3)
    assert _strings(out["translations"]) == [[h.text for h in hyps] for hyps in expected]
    assert_same(out["scores"], [[h.score for h in hyps] for hyps in expected])
    assert_same(out["log_probs"], [[h.log_prob for h in hyps] for hyps in expected])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["wordpiece", "char"])
def test_other_tokenizer_kinds_export_and_match(kind, tmp_path):
    translator = train_tiny(PAIRS, kind=kind, vocab_size=60 if kind == "wordpiece" else 40, steps=40)
    path = translator.export(tmp_path / "export")
    shutil.move(path, tmp_path / "moved")
    loaded = load_exported(tmp_path / "moved")
    expected = quiet_translate(translator, TEXTS)
    assert _strings(loaded.signatures["serving_default"](text=tf.constant(TEXTS))["translation"]) == expected
    asset = {"wordpiece": "vocabulary.txt", "char": "characters.json"}[kind]
    assert (tmp_path / "moved" / "assets" / f"target_{asset}").is_file()


# ---------------------------------------------------------------------- Multi30k, fresh process
FRESH_PROCESS = textwrap.dedent("""
    import importlib.util, json, sys
    sys.path[:0] = json.loads(sys.argv[1])        # site-packages only: no .pth hooks, no editable nmt
    assert importlib.util.find_spec("nmt") is None, "nmt must not be importable here"
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops)

    export, texts_file, out_file = sys.argv[2:5]
    with open(texts_file, encoding="utf-8") as handle:
        texts = json.load(handle)
    model = tf.saved_model.load(export)
    serve, nbest = model.signatures["serving_default"], model.signatures["translate_nbest"]
    decode = lambda tensor: [t.decode("utf-8") for t in tensor.numpy().reshape(-1)]
    result = {"beam": [], "greedy": []}
    for start in range(0, len(texts), 64):
        batch = tf.constant(texts[start:start + 64])
        result["beam"] += decode(serve(text=batch)["translation"])
        greedy = nbest(text=batch, beam_size=tf.constant(1), num_hypotheses=tf.constant(1),
                       max_length=tf.constant(-1))
        result["greedy"] += decode(greedy["translations"])
    out = nbest(text=tf.constant(texts[:64]), beam_size=tf.constant(5), num_hypotheses=tf.constant(3),
                max_length=tf.constant(-1))
    result["nbest"] = [decode(row) for row in out["translations"]]
    result["nmt_imported"] = any(name == "nmt" or name.startswith("nmt.") for name in sys.modules)
    with open(out_file, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
""")


@pytest.fixture(scope="module")
def multi30k(data_dir, tmp_path_factory):
    """A small model trained 200 steps on Multi30k de-en, its export, and the test sentences."""
    from nmt.config.pipeline import PipelineConfig
    from nmt.data import load_dataset
    from nmt.data.pipeline import make_dataset
    from nmt.tokenizers import train_tokenizers

    keras.utils.set_random_seed(0)
    train = load_dataset("multi30k", "de-en", "train", data_dir=data_dir)
    test = load_dataset("multi30k", "de-en", "test_2016_flickr", data_dir=data_dir)
    src_tok, tgt_tok = train_tokenizers(train, TokenizerConfig(kind="sentencepiece", vocab_size=1000))
    model = Seq2Seq(ModelConfig(units=64, embedding_dim=64, attention="bilinear"), src_tok.vocab_size,
                    tgt_tok.vocab_size, seed=0)
    model.compile(keras.optimizers.Adam(5e-3), label_smoothing=0.1, clip_norm=5.0)
    data = make_dataset(train, src_tok, tgt_tok, PipelineConfig(batch_size=64, max_length=40, seed=0))
    model.fit(data.repeat(), steps_per_epoch=200, epochs=1, verbose=0)
    translator = Translator(model, src_tok, tgt_tok, DecodeConfig(beam_size=3, batch_size=64))
    path = translator.export(tmp_path_factory.mktemp("multi30k") / "de_en")
    return translator, path, list(test.sources)


@pytest.mark.slow
def test_a_fresh_process_without_nmt_translates_multi30k_exactly_as_translate(multi30k, tmp_path):
    translator, path, texts = multi30k
    assert len(texts) == 1000
    beam = translator.translate(texts)
    greedy = translator.translate(texts, beam_size=1)
    nbest = [[h.text for h in hyps] for hyps in translator.translate_nbest(texts[:64], 3, beam_size=5)]
    # A trained-for-seconds model is poor, but its outputs must differ (else equality proves little).
    assert len(set(beam)) >= 30 and len(set(greedy)) >= 100 and beam.count("") < 10, \
        (len(set(beam)), len(set(greedy)), beam.count(""))
    print(f"distinct outputs: beam {len(set(beam))}, greedy {len(set(greedy))} of {len(texts)}")

    moved = tmp_path / "moved_export"
    shutil.copytree(path, moved)
    (tmp_path / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    (tmp_path / "fresh.py").write_text(FRESH_PROCESS, encoding="utf-8")
    site = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    # -I: no PYTHONPATH, no user site, no script or current directory on sys.path; -S: no site
    # module, so the .pth hook of nmt's editable install never runs.
    subprocess.run([sys.executable, "-I", "-S", str(tmp_path / "fresh.py"), json.dumps(site), str(moved),
                    str(tmp_path / "texts.json"), str(tmp_path / "out.json")],
                   cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=True)
    fresh = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert fresh["nmt_imported"] is False
    assert [i for i, (a, b) in enumerate(zip(fresh["beam"], beam)) if a != b] == []
    assert fresh["beam"] == beam
    assert fresh["greedy"] == greedy
    assert fresh["nbest"] == nbest


def _saved_model_cli() -> str:
    return str(Path(sys.executable).parent / "saved_model_cli")


@pytest.mark.slow
def test_saved_model_cli_lists_the_signatures_and_runs_one(multi30k, tmp_path):
    translator, path, texts = multi30k
    show = subprocess.run([_saved_model_cli(), "show", "--all", "--dir", str(path)],
                          capture_output=True, text=True, timeout=300, check=True).stdout
    for name in SIGNATURES:
        assert f"signature_def['{name}']" in show
    for needle in ("inputs['text']", "outputs['translation']", "outputs['score']", "inputs['beam_size']",
                   "inputs['num_hypotheses']", "inputs['max_length']", "outputs['attention']"):
        assert needle in show
    # `run` executes the graph, so tensorflow_text's ops must be registered first: the stock
    # entry point does not import it ("Op type not registered"), so run its main() after the import.
    runner = ("import sys, tensorflow_text; from tensorflow.python.tools.saved_model_cli import main; "
              "sys.argv[0] = 'saved_model_cli'; sys.exit(main())")
    sentence = texts[0]
    run = subprocess.run(
        [sys.executable, "-c", runner, "run", "--dir", str(path), "--tag_set", "serve",
         "--signature_def", "serving_default", "--input_exprs", f"text=[{sentence!r}]",
         "--outdir", str(tmp_path / "npy")],
        capture_output=True, text=True, timeout=300, check=True)
    assert "translation" in run.stdout + run.stderr
    saved = np.load(tmp_path / "npy" / "translation.npy", allow_pickle=True)
    assert [t.decode("utf-8") for t in saved] == [translator.translate(sentence)]
