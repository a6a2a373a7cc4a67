"""nmt.config.run and nmt.runs: config files, overrides, data sections, run-directory status (no training)."""

from __future__ import annotations

import json

import pytest
import yaml

from nmt.config.base import ConfigError, config_to_dict
from nmt.config.bundled import CONFIG_DIR, bundled_configs, resolve_config_path
from nmt.config.data import DataConfig
from nmt.config.run import (
    RunConfig,
    apply_overrides,
    config_differences,
    dump_yaml,
    load_run_config,
    parse_override,
    parse_yaml,
    run_config_from_dict,
)
from nmt.config.train import TrainConfig
from nmt.data.datasets import check_data_config, languages, pair_name
from nmt.runs import (
    CONFIG_FILE,
    RunError,
    best_scores,
    evaluation_paths,
    load_translator,
    open_run,
    prepare_data,
    read_run_config,
    run_dir_of,
    run_status,
    write_run_config,
)
from nmt.training.loop import RunState


# ----------------------------------------------------------------------------- config files
@pytest.mark.parametrize("name", ["smoke", "demo", "multi30k_de_en", "multi30k_en_de", "anki_es_en"])
def test_bundled_configs_load_and_round_trip_through_yaml(name):
    assert name in bundled_configs()
    config = load_run_config(name)
    assert load_run_config(CONFIG_DIR / f"{name}.yaml") == config
    assert run_config_from_dict(parse_yaml(dump_yaml(config), "dump")) == config
    assert config.pipeline.batch_size == config.train.batch_size
    assert "batch_size" not in parse_yaml(dump_yaml(config), "dump")["pipeline"]


def test_quality_configs_follow_the_recipe():
    for name, pair in (("multi30k_de_en", "de-en"), ("multi30k_en_de", "en-de")):
        config = load_run_config(name)
        assert (config.data.dataset, config.data.pair, config.data.test) == ("multi30k", pair, "test_2016_flickr")
        assert config.model.bidirectional and config.model.attention in ("bilinear", "additive")
        assert config.tokenizer.vocab_size == 8000 and config.train.label_smoothing == 0.1
        assert config.decode.beam_size == 5 and config.model.dropout == pytest.approx(0.3)
    assert load_run_config("demo").train.max_minutes is not None


def test_missing_config_file_names_the_bundled_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"no such file \(bundled configs: .*smoke"):
        resolve_config_path(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="no such file"):
        load_run_config("nope")


def test_yaml_syntax_errors_and_non_mappings_are_config_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML") as error:
        load_run_config(bad)
    assert "\n" not in str(error.value)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_run_config(bad)


def test_empty_file_and_empty_sections_give_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("model:\ntrain:\n")
    assert load_run_config(path) == RunConfig()
    path.write_text("")
    assert load_run_config(path) == RunConfig()


# ----------------------------------------------------------------------------- overrides
def test_overrides_are_parsed_as_yaml_and_type_checked():
    config = load_run_config("smoke", ["model.cell=lstm", "train.learning_rate=1e-3", "decode.replace_unknown=true",
                                       "data.cleaning.max_length=50", "model.decoder_units=null",
                                       "train.epochs=5"])
    assert config.model.cell == "lstm" and config.train.learning_rate == 1e-3
    assert config.decode.replace_unknown is True and config.data.cleaning.max_length == 50
    assert config.train.epochs == 5 and config.model.decoder_units is None
    with pytest.raises(ConfigError, match=r"train\.epochs='five' must be an integer"):
        load_run_config("smoke", ["train.epochs=five"])
    with pytest.raises(ConfigError, match="cell"):
        load_run_config("smoke", ["model.cell=transformer"])


def test_unknown_keys_list_the_valid_ones():
    with pytest.raises(ConfigError, match=r"model\.nonexistent; valid keys: .*model\.cell.*model\.units"):
        load_run_config("smoke", ["model.nonexistent=1"])
    with pytest.raises(ConfigError, match="valid keys: data, decode, model, pipeline, tokenizer, train"):
        load_run_config("smoke", ["foo.bar=1"])
    with pytest.raises(ConfigError, match=r"data\.cleaning\.typo; valid keys: data\.cleaning\.deduplicate"):
        load_run_config("smoke", ["data.cleaning.typo=1"])


@pytest.mark.parametrize("text", ["modelcell", "model.cell", "=lstm", "model.=3", ".cell=3", "model..cell=3",
                                  "epochs=3"])
def test_bad_set_syntax(text):
    with pytest.raises(ConfigError, match=r"bad --set .*SECTION\.KEY=VALUE"):
        parse_override(text)


def test_override_below_a_value_is_an_error():
    with pytest.raises(ConfigError, match="model.units is 8, not a section"):
        apply_overrides({"model": {"units": 8}}, ["model.units.x=1"])
    assert apply_overrides({}, ["model.units=8"]) == {"model": {"units": 8}}


def test_batch_size_is_one_setting():
    assert load_run_config(None, ["train.batch_size=16"]).pipeline.batch_size == 16
    assert RunConfig(train=TrainConfig(batch_size=8)).pipeline.batch_size == 8
    for overrides in (["pipeline.batch_size=16"], ["train.batch_size=16", "pipeline.batch_size=16"]):
        with pytest.raises(ConfigError, match=r"pipeline\.batch_size .*set train\.batch_size instead") as error:
            load_run_config(None, overrides)
        assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="set train.batch_size instead"):
        run_config_from_dict({"pipeline": {"batch_size": 64}})
    with pytest.raises(ConfigError, match=r"valid keys: pipeline\.batch_tokens, pipeline\.bucketing") as error:
        load_run_config(None, ["pipeline.typo=1"])
    assert "pipeline.batch_size" not in str(error.value)


def test_batch_size_in_a_config_file_is_an_error(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("pipeline:\n  batch_size: 32\n  max_length: 50\n")
    with pytest.raises(ConfigError, match="set train.batch_size instead"):
        load_run_config(path)


# ----------------------------------------------------------------------------- data section
def test_data_config_checks_dataset_pair_and_splits():
    with pytest.raises(ConfigError, match="is not one of .*multi30k"):
        check_data_config(run_config_from_dict({"data": {"dataset": "europarl"}}).data)
    with pytest.raises(ConfigError, match=r"invalid language pair 'de-xx'.*en, de, fr, cs"):
        check_data_config(run_config_from_dict({"data": {"pair": "de-xx"}}).data)
    with pytest.raises(ConfigError, match="has splits train, val, test_2016_flickr"):
        check_data_config(run_config_from_dict({"data": {"test": "test2017"}}).data)
    with pytest.raises(ConfigError, match="needs pair"):
        run_config_from_dict({"data": {"dataset": "files", "train": "x.tsv"}})
    assert languages(DataConfig(dataset="anki-spa-eng", test="test")) == ("es", "en")
    assert pair_name(DataConfig()) == "de-en"
    assert languages(DataConfig(dataset="files", pair="xx-yy", train="t")) == ("xx", "yy")


@pytest.mark.parametrize("overrides, message", [
    (["data.dataset=europarl"], r"^data: dataset='europarl' is not one of .*multi30k"),
    (["data.pair=de-xx"], r"^data: dataset 'multi30k': invalid language pair 'de-xx'"),
    (["data.test=test2017"], r"^data: test='test2017': dataset 'multi30k' has splits"),
])
def test_the_data_check_runs_when_a_run_opens_and_before_the_directory_is_touched(tmp_path, overrides, message):
    config = load_run_config("smoke", overrides)  # the config floor knows no registry
    with pytest.raises(ConfigError, match=message) as error:
        open_run(config, tmp_path / "run", log=None)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match=message):
        prepare_data(config.data)


def test_a_stored_run_with_a_data_section_the_registry_lacks_is_a_run_error(tmp_path):
    write_run_config(tmp_path, SMOKE)
    stored = (tmp_path / CONFIG_FILE).read_text()
    (tmp_path / CONFIG_FILE).write_text(stored.replace("dataset: multi30k", "dataset: europarl"))
    with pytest.raises(RunError, match="not a valid run configuration .*dataset='europarl' is not one of"):
        read_run_config(tmp_path)


def test_files_datasets_read_aligned_files_tables_and_tsv(tmp_path, monkeypatch):
    (tmp_path / "train.xx").write_text("a b\nc d\n\nlast\n")
    (tmp_path / "train.yy").write_text("A B\nC D\n\nLAST\n")
    (tmp_path / "valid.csv").write_text("xx,yy,other\nhello,HELLO,1\n")
    (tmp_path / "test.txt").write_text("one\tONE\tattribution\n")
    monkeypatch.chdir(tmp_path)
    config = load_run_config(None, ["data.dataset=files", "data.pair=xx-yy", "data.train=train",
                                    "data.valid=valid.csv", "data.test=null", "data.max_train_pairs=3"])
    assert config.data.train == str(tmp_path / "train")  # resolved against the current directory
    corpora = prepare_data(config.data)
    assert corpora["train"].sources == ("a b", "c d")  # the first 3 pairs, the empty one cleaned away
    assert (corpora["valid"].sources, corpora["valid"].targets) == (("hello",), ("HELLO",))
    tsv = load_run_config(None, ["data.dataset=files", "data.pair=xx-yy", "data.train=test.txt", "data.format=tsv",
                                 "data.valid=null"])
    assert prepare_data(tsv.data)["train"].targets == ("ONE",)
    missing = load_run_config(None, ["data.dataset=files", "data.pair=xx-yy", "data.train=nothere",
                                     "data.valid=null"])
    from nmt.data import CorpusError

    with pytest.raises(CorpusError, match=r"no file nothere\.xx or nothere\.xx\.gz"):
        prepare_data(missing.data)


# ----------------------------------------------------------------------------- run directories
SMOKE = load_run_config("smoke")


def _fake_run(run_dir, config=SMOKE, state: RunState | None = None, translator: bool = False):
    """A run directory as training leaves it, without training: config, tokenizer folder, state, translator."""
    write_run_config(run_dir, config)
    (run_dir / "source_tokenizer").mkdir()
    if state is not None:
        state.write(run_dir)
    if translator:
        (run_dir / "translator").mkdir()
        (run_dir / "translator" / "translator.json").write_text("{}")
    return run_dir


def test_status_of_new_and_foreign_directories(tmp_path):
    assert run_status(tmp_path / "new", SMOKE) == "new"
    assert run_status(tmp_path, SMOKE) == "new"  # empty
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="is not a run directory"):
        run_status(tmp_path, SMOKE)
    with pytest.raises(RunError, match="is a file"):
        run_status(tmp_path / "notes.txt", SMOKE)


def test_config_yaml_alone_may_change(tmp_path):
    write_run_config(tmp_path, SMOKE)
    other = load_run_config("smoke", ["model.units=8"])
    assert run_status(tmp_path, other) == "new"


def test_differing_config_names_the_keys(tmp_path):
    _fake_run(tmp_path, state=RunState(epoch=1))
    other = load_run_config("smoke", ["model.units=8", "decode.beam_size=3", "train.epochs=4"])
    with pytest.raises(RunError, match=r"another configuration \(decode\.beam_size: stored 2, requested 3; "
                                       r"model\.units: stored 16, requested 8\)") as error:
        run_status(tmp_path, other)
    assert "train.epochs" not in str(error.value).split("(")[1].split(")")[0]
    assert config_differences(SMOKE, other) == ["decode.beam_size", "model.units"]


def test_unfinished_runs_resume_and_finished_runs_are_kept(tmp_path):
    unfinished = _fake_run(tmp_path / "a", state=RunState(epoch=1))
    assert run_status(unfinished, load_run_config("smoke", ["train.epochs=2"])) == "resume"
    finished = _fake_run(tmp_path / "b", state=RunState(epoch=1), translator=True)
    assert run_status(finished, SMOKE) == "finished"
    with pytest.raises(RunError, match=r"already holds a finished run \(1 epochs\).*train\.epochs=6"):
        open_run(SMOKE, finished, log=None)
    assert run_status(finished, load_run_config("smoke", ["train.epochs=2"])) == "continue"
    with pytest.raises(RunError, match="already trained 3 epochs; train.epochs=1 is fewer"):
        run_status(_fake_run(tmp_path / "c", state=RunState(epoch=3)), SMOKE)


def test_early_stopped_and_out_of_time_runs(tmp_path):
    stopped = _fake_run(tmp_path / "a", state=RunState(epoch=1, stopped=True), translator=True)
    assert run_status(stopped, load_run_config("smoke", ["train.epochs=3"])) == "finished"
    with pytest.raises(RunError, match="early stopping ended it"):
        open_run(load_run_config("smoke", ["train.epochs=3"]), stopped, log=None)
    budget = load_run_config("smoke", ["train.epochs=5", "train.max_minutes=1"])
    timed = _fake_run(tmp_path / "b", budget, state=RunState(epoch=1, seconds=61.0, out_of_time=True),
                      translator=True)
    assert run_status(timed, budget) == "finished"
    with pytest.raises(RunError, match="raise train.max_minutes"):
        open_run(budget, timed, log=None)
    assert run_status(timed, load_run_config("smoke", ["train.epochs=5", "train.max_minutes=2"])) == "continue"


def test_config_yaml_is_written_atomically_and_complete(tmp_path):
    path = write_run_config(tmp_path, SMOKE)
    assert path == tmp_path / CONFIG_FILE and [p.name for p in tmp_path.iterdir()] == [CONFIG_FILE]
    text = path.read_text()
    assert text.startswith("# nmt run configuration") and "max_minutes: null" in text
    assert load_run_config(path) == SMOKE


def _legacy_config_yaml(run_dir, config, pipeline_batch_size):
    """config.yaml as earlier versions wrote it: with pipeline.batch_size."""
    values = yaml.safe_load(dump_yaml(config))
    values["pipeline"] = {"batch_size": pipeline_batch_size, **values["pipeline"]}
    (run_dir / CONFIG_FILE).write_text(yaml.safe_dump(values, sort_keys=False))


def test_a_run_stored_with_pipeline_batch_size_still_resumes(tmp_path):
    _fake_run(tmp_path, state=RunState(epoch=1))
    _legacy_config_yaml(tmp_path, SMOKE, SMOKE.train.batch_size)
    assert read_run_config(tmp_path) == SMOKE
    assert load_run_config(tmp_path / CONFIG_FILE, ["train.epochs=2"], stored=True).train.epochs == 2
    assert run_status(tmp_path, load_run_config("smoke", ["train.epochs=2"])) == "resume"
    with pytest.raises(ConfigError, match="set train.batch_size instead"):  # --set is never legacy
        load_run_config(tmp_path / CONFIG_FILE, ["pipeline.batch_size=32"], stored=True)
    _legacy_config_yaml(tmp_path, SMOKE, SMOKE.train.batch_size + 1)
    with pytest.raises(RunError, match=r"pipeline\.batch_size=33 and train\.batch_size=32 differ"):
        read_run_config(tmp_path)


def test_best_scores_from_history(tmp_path):
    assert best_scores(tmp_path) == {}
    (tmp_path / "history.csv").write_text("epoch,loss,val_accuracy,val_loss\n0,5.0,0.1,4.0\n1,4.0,0.3,3.5\n"
                                          "2,3.5,0.2,3.7\n")
    assert best_scores(tmp_path) == {"val_accuracy": (0.3, 2), "val_loss": (3.5, 2)}


def test_model_paths(tmp_path):
    with pytest.raises(RunError, match="no such file or directory"):
        load_translator(tmp_path / "missing")
    with pytest.raises(RunError, match="not a run directory, a saved translator or an export"):
        load_translator(tmp_path)
    _fake_run(tmp_path / "run")
    with pytest.raises(RunError, match="has not completed an epoch yet"):
        load_translator(tmp_path / "run")
    assert run_dir_of(tmp_path / "run") == tmp_path / "run"
    assert run_dir_of(tmp_path / "run" / "export") == tmp_path / "run"
    assert run_dir_of(tmp_path) is None
    report, scores = evaluation_paths(tmp_path, "multi30k/de-en/test_2016_flickr", 5)
    assert report == tmp_path / "eval" / "multi30k.de-en.test_2016_flickr.beam5.csv"
    assert scores.name == "multi30k.de-en.test_2016_flickr.beam5.json"


def test_config_to_dict_of_run_config_is_json_ready():
    assert json.loads(json.dumps(config_to_dict(SMOKE)))["model"]["units"] == 16
