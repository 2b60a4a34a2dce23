"""dbt's saved parse shared between lakes (journeyline/warehouse/parse_cache.py): what it
depends on, where the warehouse child runs dbt, and a cache that never gets in the way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from journeyline.config import default_config
from journeyline.warehouse import parse_cache
from journeyline.warehouse.project import lake_env, profile_env, project_vars


def _args(root: Path, warehouse: str = "wh.duckdb", **changes: Any) -> dict[str, Any]:
    config = default_config()
    env = {
        **profile_env(config),
        "JOURNEYLINE_DUCKDB_PATH": str(root / warehouse),
        **lake_env(root / "lake" / "runs" / "a1", root / "lake" / "_ops", str(root / "stream")),
    }
    args = {
        "project_dir": Path("/project"),
        "profiles_dir": Path("/project/profiles"),
        "target": "duckdb",
        "vars": project_vars(config),
        "env": env,
        "work_dir": root / "lake" / "_dbt",
    }
    return {**args, **changes}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(parse_cache.CACHE_ENV, str(folder))
    return folder


def test_the_child_runs_dbt_from_the_warehouse_folder_with_the_file_named_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = _args(Path("data"), work_dir=Path("data/lake/_dbt"))
    portable, folder = parse_cache.in_warehouse_folder(args)
    assert folder == tmp_path / "data"
    assert portable["env"]["JOURNEYLINE_DUCKDB_PATH"] == "wh.duckdb"
    assert portable["work_dir"] == tmp_path / "data" / "lake" / "_dbt"  # absolute first
    assert portable["env"]["JOURNEYLINE_LAKE_RUN_PATH"] == str(tmp_path / "data/lake/runs/a1")
    assert args["env"]["JOURNEYLINE_DUCKDB_PATH"] == "data/wh.duckdb"  # the caller's as it was


@pytest.mark.parametrize(
    "changes",
    [
        {"target": "bigquery"},
        {"env": {"JOURNEYLINE_DUCKDB_PATH": ":memory:"}},
        {"env": {"JOURNEYLINE_DUCKDB_PATH": "md:journeyline"}},
        {"env": {}},
    ],
)
def test_no_local_warehouse_file_no_folder(tmp_path: Path, changes: dict[str, Any]) -> None:
    args = _args(tmp_path, **changes)
    assert parse_cache.in_warehouse_folder(args) == (args, None)


def test_the_key_ignores_the_lake_and_warehouse_folders_but_not_what_dbt_parses(
    tmp_path: Path,
) -> None:
    def key(root: Path, **changes: Any) -> str:
        portable, _ = parse_cache.in_warehouse_folder(_args(root, **changes))
        return parse_cache.parse_key(portable)

    here = key(tmp_path / "a")
    assert key(tmp_path / "b") == here  # another lake and warehouse folder
    assert key(tmp_path / "a", warehouse="other.duckdb") != here  # another database name
    changed = {**project_vars(default_config()), "stage_order": ["visitor", "customer"]}
    assert key(tmp_path / "a", vars=changed) != here
    assert key(tmp_path / "a", project_dir=Path("/elsewhere")) != here


def test_a_new_lake_starts_from_the_cached_parse_and_a_lake_keeps_its_own(
    tmp_path: Path, cache: Path
) -> None:
    first, _ = parse_cache.in_warehouse_folder(_args(tmp_path / "a"))
    second, _ = parse_cache.in_warehouse_folder(_args(tmp_path / "b"))
    assert not parse_cache.seed(first)  # nothing cached yet
    saved = parse_cache.saved_parse(first)
    saved.parent.mkdir(parents=True)
    saved.write_bytes(b"the first lake's parse")
    assert parse_cache.keep(first)
    assert parse_cache.seed(second)
    assert parse_cache.saved_parse(second).read_bytes() == b"the first lake's parse"
    parse_cache.saved_parse(second).write_bytes(b"the second lake's own parse")
    assert not parse_cache.seed(second)  # never over a lake's own
    assert parse_cache.saved_parse(second).read_bytes() == b"the second lake's own parse"
    assert [p.name for p in (cache / "dbt-parse").iterdir()] == [parse_cache.parse_key(first)]


def test_a_cache_path_that_is_a_file_costs_a_parse_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv(parse_cache.CACHE_ENV, str(blocker))
    args = _args(tmp_path)
    saved = parse_cache.saved_parse(args)
    saved.parent.mkdir(parents=True)
    saved.write_bytes(b"parse")
    assert not parse_cache.keep(args)
    assert not parse_cache.seed(_args(tmp_path / "b"))


def test_the_cache_folder_defaults_to_the_users_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(parse_cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    assert parse_cache.cache_dir() == Path("/somewhere/cache/journeyline")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert parse_cache.cache_dir() == Path.home() / ".cache" / "journeyline"
