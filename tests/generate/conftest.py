"""Shared fixtures: small generated data sets, one per profile."""

from __future__ import annotations

from datetime import date

import pytest

from journeyline.generate import GenerateSummary, generate

SMALL = {"people": 300, "seed": 7, "start": date(2025, 1, 1), "days": 365}


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> GenerateSummary:
    """300 people, profile default."""
    return generate(tmp_path_factory.mktemp("default"), profile="default", **SMALL)


@pytest.fixture(scope="session")
def messy_run(tmp_path_factory: pytest.TempPathFactory) -> GenerateSummary:
    """300 people, profile messy."""
    return generate(tmp_path_factory.mktemp("messy"), profile="messy", **SMALL)


@pytest.fixture(scope="session", params=["default", "messy"])
def any_run(
    request: pytest.FixtureRequest, default_run: GenerateSummary, messy_run: GenerateSummary
) -> GenerateSummary:
    """Each profile in turn."""
    return default_run if request.param == "default" else messy_run
