"""The warehouse: the dbt project (models/) and the in-process way to run it."""

from journeyline.warehouse.dbt_runner import (
    PROFILES_DIR,
    PROJECT_DIR,
    DbtOutcome,
    NodeResult,
    run_dbt,
)

__all__ = ["PROFILES_DIR", "PROJECT_DIR", "DbtOutcome", "NodeResult", "run_dbt"]
