"""Suite-wide settings: a clearly marked test hash key (privacy is on by default), and a
cache folder of the session's own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Keyed hashing of e-mail and phone needs a key from the environment (SPEC §10). Tests use
# this fixed, clearly fake one; production keys never live in a repository.
TEST_HASH_KEY = "TEST-ONLY-hash-key-not-a-secret-0123456789"
os.environ.setdefault("JOURNEYLINE_HASH_KEY", TEST_HASH_KEY)


@pytest.fixture(scope="session", autouse=True)
def journeyline_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cache folder (dbt's saved parse shared between lakes): one per test session,
    shared by its workers, never the user's."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # gw0, gw1 …: their common parent
        base = base.parent
    folder = base / "journeyline-cache"
    folder.mkdir(exist_ok=True)
    os.environ["JOURNEYLINE_CACHE_DIR"] = str(folder)
    return folder
