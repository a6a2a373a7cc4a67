"""Every typed configuration of ``nmt`` and the helpers that build and check them.

One frozen dataclass per section of a run configuration file, validated on
construction; :func:`config_from_dict` builds them from mappings (YAML, ``--set``),
rejecting unknown keys with the list of valid ones. This package imports nothing of
``nmt`` but itself and :mod:`nmt.vocab`, so every other layer may import it.
"""

from nmt.config.base import ConfigError, config_from_dict, config_to_dict
from nmt.config.cleaning import CleaningConfig
from nmt.config.data import DataConfig
from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig
from nmt.config.pipeline import PipelineConfig
from nmt.config.run import RunConfig, load_run_config
from nmt.config.tokenizer import TokenizerConfig
from nmt.config.train import TrainConfig

__all__ = [
    "CleaningConfig",
    "ConfigError",
    "DataConfig",
    "DecodeConfig",
    "ModelConfig",
    "PipelineConfig",
    "RunConfig",
    "TokenizerConfig",
    "TrainConfig",
    "config_from_dict",
    "config_to_dict",
    "load_run_config",
]
