"""What the dbt project needs from a journeyline configuration: its vars and profile env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from journeyline.config import Config


def project_vars(config: Config, attempt_path: Path, ops_path: Path) -> dict[str, Any]:
    """The dbt vars for one lake run attempt: where the lake is, the journey, checks, SLAs."""
    return {
        "lake_run_path": str(attempt_path),
        "ops_path": str(ops_path),
        "stage_order": list(config.stages.order),
        "outcome_statuses": sorted({o.outcome for o in config.stages.outcomes}),
        "dq_severity": {name: c.severity for name, c in config.quality.items()},
        "sla": config.sla.as_dbt_var(),
    }


def profile_env(config: Config) -> dict[str, str]:
    """The environment profiles/profiles.yml reads for the DuckDB warehouse's staging schema."""
    return {
        "JOURNEYLINE_DUCKDB_PATH": config.warehouse.path,
        "JOURNEYLINE_DBT_SCHEMA": config.warehouse.staging_schema,
    }
