"""Fixtures for the quality gates: a clean staging schema in a temporary DuckDB file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from journeyline.config import Config, load_config
from tests.quality.dq_warehouse import build_warehouse


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config()


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    build_warehouse(connection)
    yield connection
    connection.close()
