"""What the dbt project needs from a journeyline configuration: its vars and profile env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from journeyline.config import Config

# The lake run attempt dbt reads, read with env_var() in models/staging/_lake__sources.yml.
# It changes every run: as a --vars value it would make dbt re-parse the whole project
# each run (any change of --vars does); as an environment variable only the lake sources
# and the models selecting from them are re-parsed (dbt's partial parsing tracks env_var).
LAKE_RUN_PATH_ENV = "JOURNEYLINE_LAKE_RUN_PATH"


def project_vars(config: Config, ops_path: Path) -> dict[str, Any]:
    """The dbt vars of a configuration: the run history, the journey, checks, SLAs.
    They stay the same from run to run (see lake_env for the run attempt)."""
    return {
        "ops_path": str(ops_path),
        "stage_order": list(config.stages.order),
        "outcome_statuses": sorted({o.outcome for o in config.stages.outcomes}),
        "dq_severity": {name: c.severity for name, c in config.quality.items()},
        "sla": config.sla.as_dbt_var(),
    }


def lake_env(attempt_path: Path) -> dict[str, str]:
    """The environment naming the lake run attempt the dbt project reads."""
    return {LAKE_RUN_PATH_ENV: str(attempt_path)}


def profile_env(config: Config) -> dict[str, str]:
    """The environment profiles/profiles.yml reads for the DuckDB warehouse's staging schema."""
    return {
        "JOURNEYLINE_DUCKDB_PATH": config.warehouse.path,
        "JOURNEYLINE_DBT_SCHEMA": config.warehouse.staging_schema,
    }
