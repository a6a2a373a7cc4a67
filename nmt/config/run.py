"""The configuration of one run: YAML files, ``--set`` overrides, comparison with a stored run.

A run configuration file has up to six sections, each mapped onto a frozen, validated
dataclass by :func:`nmt.config.base.config_from_dict` (unknown keys are errors that list
the valid ones)::

    data:       {dataset: multi30k, pair: de-en, test: test_2016_flickr}   # nmt.config.data.DataConfig
    tokenizer:  {kind: sentencepiece, vocab_size: 8000}        # nmt.config.tokenizer.TokenizerConfig
    pipeline:   {max_length: 100}                              # nmt.config.pipeline.PipelineConfig
    model:      {cell: gru, units: 256, attention: bilinear}   # nmt.config.model.ModelConfig
    train:      {epochs: 10, batch_size: 64}                   # nmt.config.train.TrainConfig
    decode:     {beam_size: 5}                                 # nmt.config.decode.DecodeConfig

Missing sections and keys take the dataclasses' defaults. The batch size has one
home, ``train.batch_size``: :class:`RunConfig` copies it into ``pipeline`` (so
``config.pipeline`` goes to :func:`nmt.data.pipeline.make_dataset` as it is), and
``pipeline.batch_size`` is not a key of a run configuration (an error that says to
set ``train.batch_size``), nor of the ``config.yaml`` written for a run.

``--set section.key=value`` overrides (``model.cell=lstm``, ``data.cleaning.max_length=50``)
are applied to the mapping before validation; the value is parsed as YAML
(``5`` -> int, ``1e-3`` -> float, ``true``, ``null``, ``[a, b]``), then type-checked
like a value from the file.

Paths of ``data.dataset: files`` and ``train.init_from`` (the run directory a
fine-tuning run starts from) are resolved against the current directory when the
configuration is loaded, so the resolved configuration stored in a run directory
(``config.yaml``) holds absolute paths.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from nmt.config.base import ConfigError, check_fields, config_from_dict, config_to_dict
from nmt.config.bundled import resolve_config_path
from nmt.config.data import FILES, DataConfig
from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig
from nmt.config.pipeline import PipelineConfig
from nmt.config.tokenizer import TokenizerConfig
from nmt.config.train import TrainConfig

#: Keys a stored run may change when it is resumed or continued (everything else must match).
RESUMABLE_KEYS = ("train.epochs", "train.max_minutes", "train.distribute", "train.checkpoint_every_steps")


#: ``PipelineConfig.batch_size`` in a run: set by ``train.batch_size``, never a key of its own.
_BATCH_SIZE, _BATCH_SIZE_HOME = "pipeline.batch_size", "train.batch_size"


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; written to ``RUN_DIR/config.yaml`` by :mod:`nmt.runs`.

    ``pipeline.batch_size`` is always ``train.batch_size``: construction copies it
    over whatever ``pipeline`` holds (the pipeline section has no batch size of its own).
    """

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = dataclasses.field(default_factory=TokenizerConfig)
    pipeline: PipelineConfig = dataclasses.field(default_factory=PipelineConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    decode: DecodeConfig = dataclasses.field(default_factory=DecodeConfig)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.train.monitor == "val_bleu" and self.data.valid is None:
            raise ConfigError("train.monitor=val_bleu translates validation pairs: set data.valid "
                              "(or monitor another metric)")
        if self.pipeline.batch_size != self.train.batch_size:
            pipeline = dataclasses.replace(self.pipeline, batch_size=self.train.batch_size)
            object.__setattr__(self, "pipeline", pipeline)


# ----------------------------------------------------------------------------- YAML
class _Loader(yaml.SafeLoader):
    """Safe YAML that also reads ``1e-3`` as a float (YAML 1.2; PyYAML's 1.1 rules need ``1.0e-3``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                  |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                  |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def parse_yaml(text: str, where: str) -> Any:
    """``text`` parsed as YAML (see :class:`_Loader`); ConfigError names ``where`` on a syntax error."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())
        raise ConfigError(f"{where}: invalid YAML: {detail}") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The top-level mapping of a YAML config file (an empty file is ``{}``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path}: cannot read it ({error})") from None
    values = parse_yaml(text, str(path))
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"config file {path}: expected a mapping of sections "
                          f"({', '.join(f.name for f in dataclasses.fields(RunConfig))}), "
                          f"got {type(values).__name__}")
    return dict(values)


def dump_yaml(config: RunConfig) -> str:
    """The YAML text of ``config`` (every key, in dataclass order)."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False, allow_unicode=True, default_flow_style=False)


# ----------------------------------------------------------------------------- overrides
_KEY = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


def parse_override(text: str) -> tuple[str, Any]:
    """``"model.units=512"`` -> ``("model.units", 512)``; the value is YAML.

    Raises:
        ConfigError: not ``SECTION.KEY=VALUE``.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not _KEY.match(key):
        raise ConfigError(f"bad --set {text!r}: expected SECTION.KEY=VALUE, for example model.cell=lstm "
                          f"(sections: {', '.join(f.name for f in dataclasses.fields(RunConfig))})")
    return key, parse_yaml(value, f"--set {key}")


def apply_overrides(values: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A deep copy of ``values`` with every ``SECTION.KEY=VALUE`` of ``overrides`` set, in order."""
    result = _deep_copy(values)
    for text in overrides:
        key, value = parse_override(text)
        parts = key.split(".")
        node = result
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(f"--set {key}: {'.'.join(parts[:depth + 1])} is {child!r}, not a section")
            node = child
        node[parts[-1]] = value
    return result


def _deep_copy(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in values.items()}


# ----------------------------------------------------------------------------- building
def run_config_from_dict(values: Mapping[str, Any], *, base_dir: str | Path | None = None) -> RunConfig:
    """Validates ``values`` (sections -> keys -> values) into a :class:`RunConfig`.

    Resolves relative ``files`` paths against ``base_dir`` (default: the current
    directory). Whether a registered dataset has the pair and splits asked for is
    checked later, by :func:`nmt.data.datasets.check_data_config` when the run opens.

    Raises:
        ConfigError: unknown sections or keys (listing the valid ones), wrong types, bad
            values, ``pipeline.batch_size`` (the batch size is ``train.batch_size``).
    """
    if not isinstance(values, Mapping):
        raise ConfigError(f"a run configuration is a mapping of sections, not {type(values).__name__}")
    values = {section: {} if value is None else value  # None: an empty section in YAML
              for section, value in _deep_copy(values).items()}
    if isinstance(values.get("pipeline"), Mapping) and "batch_size" in values["pipeline"]:
        raise ConfigError(f"{_BATCH_SIZE} is not a setting of its own: the batch size of a run is "
                          f"{_BATCH_SIZE_HOME}; set {_BATCH_SIZE_HOME} instead")
    config = config_from_dict(RunConfig, values)
    return resolve_paths(config, base_dir)


def resolve_paths(config: RunConfig, base_dir: str | Path | None = None) -> RunConfig:
    """``config`` with the ``files`` paths of ``data`` and ``train.init_from`` made absolute (relative to ``base_dir``)."""
    base = Path.cwd() if base_dir is None else Path(base_dir)

    def absolute(value: str) -> str:
        return str((base / Path(value).expanduser()).resolve())

    data, train = config.data, config.train
    if data.dataset == FILES:
        changes = {name: absolute(getattr(data, name)) for name in ("train", "valid", "test") if getattr(data, name)}
        data = dataclasses.replace(data, **changes)
    if train.init_from is not None:
        train = dataclasses.replace(train, init_from=absolute(train.init_from))
    if data is config.data and train is config.train:
        return config
    return dataclasses.replace(config, data=data, train=train)


def load_run_config(path: str | Path | None = None, overrides: Sequence[str] = (), *,
                    base: Mapping[str, Any] | None = None, stored: bool = False) -> RunConfig:
    """The run configuration of a YAML file (or of ``base``, or the defaults) with ``overrides``.

    Args:
        path: a YAML config file; ``None`` starts from ``base`` (or all defaults).
        overrides: ``SECTION.KEY=VALUE`` strings, applied in order.
        base: a mapping to start from when ``path`` is None.
        stored: ``path`` (or ``base``) is the ``config.yaml`` of a run directory, perhaps
            written by an earlier version of nmt: see :func:`upgrade_stored_config`.
            ``overrides`` are checked like any others.

    Raises:
        ConfigError: one line naming the file, key or value at fault.
    """
    values = read_yaml(resolve_config_path(path)) if path is not None else dict(base or {})
    if stored:
        values = upgrade_stored_config(values)
    return run_config_from_dict(apply_overrides(values, overrides))


def upgrade_stored_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """A stored ``config.yaml`` mapping in today's keys, so runs of earlier versions resume.

    Earlier versions wrote ``pipeline.batch_size`` (always equal to ``train.batch_size``,
    the one setting now): it is dropped when it equals ``train.batch_size``.

    Raises:
        ConfigError: ``pipeline.batch_size`` differs from ``train.batch_size``.
    """
    values = _deep_copy(values)
    pipeline, train = values.get("pipeline"), values.get("train")
    if isinstance(pipeline, dict) and "batch_size" in pipeline:
        batch_size = pipeline.pop("batch_size")
        expected = (train if isinstance(train, dict) else {}).get("batch_size", TrainConfig.batch_size)
        if batch_size != expected:
            raise ConfigError(f"{_BATCH_SIZE}={batch_size!r} and {_BATCH_SIZE_HOME}={expected!r} differ; "
                              f"remove {_BATCH_SIZE} (the batch size of a run is {_BATCH_SIZE_HOME})")
    return values


# ----------------------------------------------------------------------------- comparison
def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"units": 8}}`` -> ``{"model.units": 8}`` (lists stay values)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def config_differences(stored: RunConfig, requested: RunConfig, *,
                       ignore: Sequence[str] = RESUMABLE_KEYS) -> list[str]:
    """Dotted keys whose values differ between two configurations, sorted, ``ignore`` left out."""
    old, new = flatten(config_to_dict(stored)), flatten(config_to_dict(requested))
    keys = sorted(set(old) | set(new))
    return [key for key in keys if key not in ignore and old.get(key) != new.get(key)]
