"""Configuration: journeyline.yml, validated with line-precise errors, over built-in defaults."""

from journeyline.config.model import (
    CheckConfig,
    Config,
    ContractConfig,
    IdentityConfig,
    OutcomeRule,
    PipelineConfig,
    SlaConfig,
    SourceConfig,
    StageRule,
    StagesConfig,
    WarehouseConfig,
    default_config,
    load_config,
)
from journeyline.config.streaming import AlertsConfig, StreamingConfig
from journeyline.config.validate import ConfigError

__all__ = [
    "AlertsConfig",
    "CheckConfig",
    "Config",
    "ConfigError",
    "ContractConfig",
    "IdentityConfig",
    "OutcomeRule",
    "PipelineConfig",
    "SlaConfig",
    "SourceConfig",
    "StageRule",
    "StagesConfig",
    "StreamingConfig",
    "WarehouseConfig",
    "default_config",
    "load_config",
]
