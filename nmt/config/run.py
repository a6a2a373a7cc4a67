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

Files from elsewhere: YAML is read with a safe loader (plain data only), and anchors
and aliases (``&name``/``*name``, which can expand a few lines into billions of nodes)
are refused. The ``config.yaml`` of a run (:func:`dump_yaml`) starts with
``format_version`` (:data:`CONFIG_FORMAT_VERSION`) and the ``nmt_version`` that wrote
it, and ends with :data:`END_LINE`; a stored configuration of a newer format, or one
cut short, is refused in one line naming the file (files written before versions were
recorded have neither and are read as format 1).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from nmt._versions import __version__, format_problem
from nmt.config.base import ConfigError, check_fields, config_from_dict, config_to_dict
from nmt.config.bundled import resolve_config_path
from nmt.config.data import FILES, DataConfig
from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig
from nmt.config.pipeline import PipelineConfig
from nmt.config.tokenizer import TokenizerConfig
from nmt.config.train import TrainConfig

#: Keys a stored run may change when it is resumed or continued (everything else must match).
RESUMABLE_KEYS = ("train.epochs", "train.max_minutes", "train.distribute", "train.checkpoint_every_steps",
                  "train.max_steps", "train.average_last")


#: The layout of a run's ``config.yaml`` this version writes and reads (older files lack the field: format 1).
CONFIG_FORMAT_VERSION = 1
#: Top-level keys of a stored configuration that are not sections.
VERSION_KEYS = ("format_version", "nmt_version")
#: The last line of the ``config.yaml`` :func:`dump_yaml` writes (its absence means the file was cut short).
END_LINE = "# end of nmt run configuration"

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
        if self.data.streaming and self.train.distribute != "none":
            raise ConfigError(f"data.streaming trains on one device: train.distribute={self.train.distribute!r} "
                              f"must be 'none' (or read the corpus into memory: data.streaming=false)")
        if self.pipeline.batch_size != self.train.batch_size:
            pipeline = dataclasses.replace(self.pipeline, batch_size=self.train.batch_size)
            object.__setattr__(self, "pipeline", pipeline)


# ----------------------------------------------------------------------------- YAML
class _Loader(yaml.SafeLoader):
    """Safe YAML that also reads ``1e-3`` as a float (YAML 1.2; PyYAML's 1.1 rules need ``1.0e-3``).

    Anchors and aliases are refused where they appear (before anything is built), so a
    "billion laughs" file of nested aliases fails at once instead of expanding.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent, yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent):
            event = self.peek_event()
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                kind = "alias *" if isinstance(event, yaml.AliasEvent) else "anchor &"
                raise yaml.composer.ComposerError(
                    None, None, f"found {kind}{anchor}: anchors and aliases are not allowed in nmt config files "
                                f"(write the values out)", event.start_mark)
        return super().compose_node(parent, index)


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


def dump_yaml(config: RunConfig, *, stored: bool = False) -> str:
    """The YAML text of ``config`` (every key, in dataclass order).

    With ``stored`` it is the text of a run's ``config.yaml``: it starts with
    ``format_version`` and ``nmt_version`` and ends with :data:`END_LINE` (see the module
    docstring); :func:`load_run_config` accepts and checks them.
    """
    versions = {"format_version": CONFIG_FORMAT_VERSION, "nmt_version": __version__} if stored else {}
    body = yaml.safe_dump({**versions, **config_to_dict(config)}, sort_keys=False, allow_unicode=True,
                          default_flow_style=False)
    return f"{body}{END_LINE}\n" if stored else body


def check_versions(values: dict[str, Any], where: str) -> None:
    """Pops :data:`VERSION_KEYS` from ``values`` (the file's top-level mapping); refuses a newer format.

    Raises:
        ConfigError: the message names ``where`` and both versions.
    """
    problem = format_problem(where, values.pop("format_version", None), values.pop("nmt_version", None),
                             CONFIG_FORMAT_VERSION, "config")
    if problem:
        raise ConfigError(problem)


def check_complete(path: Path) -> None:
    """Refuses a stored ``config.yaml`` that :func:`dump_yaml` wrote (it starts with ``format_version``) but that
    does not end with :data:`END_LINE`: it was cut short, and defaults would fill in what is missing.

    Raises:
        ConfigError: names ``path``.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return  # read_yaml says what is wrong
    written = next((line for line in lines if line.strip() and not line.startswith("#")), "")
    if written.startswith("format_version:") and [line for line in lines if line.strip()][-1:] != [END_LINE]:
        raise ConfigError(f"{path} is truncated: it does not end with the line {END_LINE!r} that nmt writes "
                          f"(restore it from a copy)")


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

    Both a file and ``base`` may hold the :data:`VERSION_KEYS` a run's ``config.yaml``
    starts with (:func:`check_versions`).

    Raises:
        ConfigError: one line naming the file, key or value at fault.
    """
    if path is not None:
        path = resolve_config_path(path)
        if stored:
            check_complete(path)
        values = read_yaml(path)
        check_versions(values, str(path))
    else:
        values = dict(base or {})
        check_versions(values, "the stored configuration")
    if not stored:
        return run_config_from_dict(apply_overrides(values, overrides))
    try:
        return run_config_from_dict(apply_overrides(upgrade_stored_config(values), overrides))
    except ConfigError as error:
        if path is None or str(path) in str(error):
            raise
        raise ConfigError(f"{path}: {error}") from None


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
