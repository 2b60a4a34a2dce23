"""The same arguments give byte-identical output; another seed gives other data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from journeyline.generate import PROFILES, generate


def _snapshot(out: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``out``."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("profile", PROFILES)
def test_two_runs_are_byte_identical(tmp_path: Path, profile: str) -> None:
    """Same arguments, other folder: every file is byte-identical."""
    args = {"people": 120, "seed": 3, "start": date(2025, 2, 1), "days": 120, "profile": profile}
    first = generate(tmp_path / "a", **args)
    second = generate(tmp_path / "b", **args)
    a, b = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert sorted(a) == sorted(b)
    assert len(a) > 10
    for name in a:
        assert a[name] == b[name], name
    assert first.to_dict() == second.to_dict()


def test_rerun_into_the_same_folder_replaces_stale_files(tmp_path: Path) -> None:
    """A second run leaves no landing file of the first run behind."""
    generate(tmp_path, people=60, seed=1, start=date(2025, 1, 1), days=365)
    summary = generate(tmp_path, people=60, seed=1, start=date(2025, 6, 1), days=30)
    landing = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("*/*.jsonl"))
    assert landing == sorted(str(p.relative_to(tmp_path)) for p in summary.files)
    assert all("2025-06" in name or "2025-07" in name for name in landing)


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    """The seed matters."""
    generate(tmp_path / "a", people=50, seed=1)
    generate(tmp_path / "b", people=50, seed=2)
    assert _snapshot(tmp_path / "a") != _snapshot(tmp_path / "b")


def test_unknown_profile_and_bad_sizes_are_refused(tmp_path: Path) -> None:
    """Bad arguments fail with a message naming the valid choices."""
    with pytest.raises(ValueError, match="default, messy"):
        generate(tmp_path, people=10, profile="chaos")
    with pytest.raises(ValueError, match="people"):
        generate(tmp_path, people=0)
    with pytest.raises(ValueError, match="days"):
        generate(tmp_path, people=10, days=0)
