"""Version fields of the files a run or a saved model keeps, and config YAML from elsewhere.

- ``config.yaml`` (:func:`nmt.config.run.dump_yaml`), ``state.json``
  (:meth:`RunState.write`), ``translator.json`` and the export's ``nmt_export.json``
  record ``format_version`` and the ``nmt_version`` that wrote them.
- Files written before the fields existed (none of them) still load and resume.
- A newer format is refused in one line that names the file and both versions;
  a stored ``config.yaml`` cut short is refused as truncated, not read with defaults.
- YAML anchors and aliases ("billion laughs") are refused at once, naming the file.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml

from nmt._versions import __version__, format_problem
from nmt.config.base import ConfigError, config_to_dict
from nmt.config.run import END_LINE, apply_overrides, dump_yaml, load_run_config, read_yaml
from nmt.training.state import STATE_FILE, RunState, StateError
from nmt.translate.translator import SETTINGS_FILE, Translator

SMOKE = load_run_config("smoke")
NEWER = {"format_version": 2, "nmt_version": "0.3.0"}


def _both_versions(kind: str) -> list[str]:
    return ["nmt 0.3.0", f"({kind} format 2)", f"nmt {__version__} ({kind} format 1)"]


# ----------------------------------------------------------------------------- config.yaml
def test_config_yaml_records_its_versions_and_round_trips(tmp_path):
    text = dump_yaml(SMOKE, stored=True)
    head = yaml.safe_load(text)
    assert (head["format_version"], head["nmt_version"]) == (1, __version__)
    assert text.rstrip().splitlines()[-1] == END_LINE
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    assert load_run_config(tmp_path / "config.yaml", stored=True) == SMOKE
    assert load_run_config(tmp_path / "config.yaml") == SMOKE  # a run's config.yaml is a config file too


def test_config_yaml_without_versions_is_read_as_format_1(tmp_path):
    # As runs wrote it before the fields: no versions, no end line, and pipeline.batch_size.
    old = config_to_dict(SMOKE)
    old["pipeline"]["batch_size"] = old["train"]["batch_size"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old, sort_keys=False), encoding="utf-8")
    assert load_run_config(tmp_path / "config.yaml", stored=True) == SMOKE


def test_config_yaml_of_a_newer_format_names_both_versions(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**NEWER, **config_to_dict(SMOKE), "future": {"key": 1}}) + END_LINE + "\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_run_config(path, stored=True)
    message = str(error.value)
    assert message.startswith(f"{path} was written by") and "\n" not in message
    assert all(part in message for part in _both_versions("config")), message


def test_a_stored_config_yaml_cut_short_is_truncated_not_defaults(tmp_path):
    text = dump_yaml(SMOKE, stored=True)
    path = tmp_path / "config.yaml"
    path.write_text(text[: text.index("decode:")], encoding="utf-8")  # a clean cut: valid YAML, defaults would fill in
    with pytest.raises(ConfigError, match="truncated") as error:
        load_run_config(path, stored=True)
    assert str(path) in str(error.value)


# ----------------------------------------------------------------------------- state.json
def test_state_json_records_its_versions_and_round_trips(tmp_path):
    state = RunState(epoch=3, step=120, best=1.5, best_epoch=2)
    state.write(tmp_path)
    stored = json.loads((tmp_path / STATE_FILE).read_text())
    assert (stored["format_version"], stored["nmt_version"]) == (1, __version__)
    assert RunState.read(tmp_path, check_checkpoint=False) == state


def test_state_json_without_versions_is_read_as_format_1(tmp_path):
    (tmp_path / STATE_FILE).write_text(json.dumps({"epoch": 1, "best": 1.0, "best_epoch": 1}), encoding="utf-8")
    assert RunState.read(tmp_path) == RunState(epoch=1, best=1.0, best_epoch=1)


def test_state_json_of_a_newer_format_names_both_versions(tmp_path):
    (tmp_path / STATE_FILE).write_text(json.dumps({**NEWER, "epoch": 1, "new_field": [1]}), encoding="utf-8")
    with pytest.raises(StateError) as error:
        RunState.read(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / STATE_FILE} was written by")
    assert all(part in message for part in _both_versions("state")), message


@pytest.mark.parametrize("value", ["1", 0, 1.5, True])
def test_a_format_version_that_is_not_a_positive_integer_is_damage(value):
    assert "damaged" in format_problem("f.json", value, None, 1, "state")


def test_a_newer_format_without_a_writer_version_still_says_so():
    message = format_problem("f.json", 7, None, 1, "state")
    assert "a newer version of nmt (state format 7)" in message and f"nmt {__version__} (state format 1)" in message


# ----------------------------------------------------------------------------- translator.json
def test_translator_json_records_nmt_version_and_a_newer_format_is_refused(tmp_path, tiny_translator):
    path = tiny_translator.save(tmp_path / "translator")
    settings = json.loads((path / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert (settings["format_version"], settings["nmt_version"]) == (1, __version__)
    (path / SETTINGS_FILE).write_text(json.dumps({**settings, **NEWER}), encoding="utf-8")
    with pytest.raises(ValueError) as error:
        Translator.load(path)
    assert all(part in str(error.value) for part in _both_versions("translator")), error.value


# ----------------------------------------------------------------------------- YAML aliases
def _billion_laughs(levels: int = 9) -> str:
    """Nested aliases: ``levels`` lines that expand to 9**levels strings when walked."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [
    pytest.param(_billion_laughs(), id="billion-laughs"),
    pytest.param("model: {units: 8}\ntrain: &t {epochs: 1}\ndecode: {}\nextra: *t\n", id="one-anchor"),
    pytest.param("model: &m\n  units: 8\ntrain:\n  <<: *m\n", id="merge-key"),
])
def test_config_files_with_anchors_or_aliases_are_refused_fast(tmp_path, text):
    path = tmp_path / "laughs.yaml"
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    for load in (read_yaml, load_run_config):
        with pytest.raises(ConfigError, match="anchors and aliases are not allowed") as error:
            load(path)
        assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert time.perf_counter() - start < 2.0


def test_a_set_value_with_an_alias_is_refused():
    with pytest.raises(ConfigError, match="--set model.units.*anchors and aliases"):
        apply_overrides({}, ["model.units=*a"])
