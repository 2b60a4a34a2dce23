"""Identity resolution users can trust (issue 3): incremental equals full refresh over a
10-window replay, ids are stable, retroactive merges, and precision/recall on both profiles."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from journeyline.evaluate import evaluate
from journeyline.lake import Lake
from pipelines.batch import COUNTS_FILE
from tests.e2e.conftest import journeyline

WINDOWS = 10
CONFIG = "identity:\n  max_rounds: 10\n"
# The incremental side de-duplicates and joins events to customers by shuffle, the full
# refresh by broadcast (the local default): "incremental equals full refresh" then also proves
# the two plans of pipeline.joins agree, the re-stitch of earlier events included.
SHUFFLE_CONFIG = CONFIG + "pipeline:\n  joins: shuffle\n"


def run(landing: Path, work: Path, *extra: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = journeyline(
            "run",
            "--config",
            str(work / "journeyline.yml"),
            "--input",
            str(landing),
            "--warehouse",
            str(work / "wh.duckdb"),
            "--lake",
            str(work / "lake"),
            "--quiet",
            *extra,
        )
    assert code == 0, out.getvalue()
    return out.getvalue()


def table(work: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(work / "wh.duckdb"), read_only=True)
    try:
        return sorted(con.execute(sql).fetchall(), key=repr)
    finally:
        con.close()


def month_windows(landing: Path) -> list[list[Path]]:
    """The landing files grouped into WINDOWS windows by the month in their name, in order."""
    files = sorted(landing.glob("*/*.jsonl"), key=lambda p: (p.stem.rsplit("-", 2)[-2:], p.name))
    months = sorted({tuple(p.stem.rsplit("-", 2)[-2:]) for p in files})
    per = -(-len(months) // WINDOWS)
    groups = [months[i : i + per] for i in range(0, len(months), per)]
    while len(groups) < WINDOWS:  # split the largest group until there are WINDOWS windows
        big = max(range(len(groups)), key=lambda i: len(groups[i]))
        groups[big : big + 1] = [groups[big][:1], groups[big][1:]]
    return [[p for p in files if tuple(p.stem.rsplit("-", 2)[-2:]) in g] for g in groups]


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("replay")
    full_landing = base / "all"
    assert (
        journeyline("generate", "--out", str(full_landing), "--people", "200", "--seed", "3") == 0
    )
    live, incremental, full = base / "live", base / "incremental", base / "full"
    for stream in ("marketing", "sales", "service"):
        (live / stream).mkdir(parents=True)
    for folder, config in ((incremental, SHUFFLE_CONFIG), (full, CONFIG)):
        folder.mkdir()
        (folder / "journeyline.yml").write_text(config, encoding="utf-8")
    snapshots, continued = [], []
    windows = month_windows(full_landing)
    assert len(windows) == WINDOWS and all(windows)
    for files in windows:
        for f in files:
            target = live / f.parent.name / f.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
        run(live, incremental)
        lake = Lake.at(incremental / "lake")
        counts = json.loads((lake.attempt(lake.current()) / COUNTS_FILE).read_text("utf-8"))
        continued.append(counts["continued_customers"])
        snapshots.append(
            dict(
                ((t, v), c)
                for t, v, c in table(
                    incremental,
                    "select identifier_type, identifier_value, customer_id from identity_map",
                )
            )
        )
    run(live, full, "--full-refresh")
    return {
        "incremental": incremental,
        "full": full,
        "snapshots": snapshots,
        "continued": continued,
        "truth": full_landing / "_truth",
    }


IDENTITY = (
    "select identifier_type, identifier_value, customer_id, first_seen_at, last_seen_at "
    "from identity_map"
)
TIMELINE = (
    "select event_id, customer_id, event_seq, occurred_at, event_type, lifecycle_stage, "
    "stage_changed, identifiers, properties from customer_timeline"
)
CUSTOMERS = "select * from customers"


@pytest.mark.parametrize(
    "sql", [IDENTITY, TIMELINE, CUSTOMERS], ids=["identity_map", "timeline", "customers"]
)
def test_incremental_over_ten_windows_equals_a_full_refresh(replay: dict, sql: str) -> None:
    incremental, full = table(replay["incremental"], sql), table(replay["full"], sql)
    assert len(incremental) == len(full) > 0
    assert incremental == full


def test_the_replay_ran_ten_incremental_runs(replay: dict) -> None:
    runs = table(replay["incremental"], "select status from pipeline_runs")
    assert runs == [("published",)] * WINDOWS


def test_the_replay_went_on_from_earlier_timelines(replay: dict) -> None:
    """Equal to the full refresh with timelines continued, not only rebuilt: most windows
    numbered and staged some customers' new events on from their earlier rows."""
    assert replay["continued"][0] == 0  # the first run has no earlier rows
    assert sum(1 for n in replay["continued"][1:] if n > 0) >= WINDOWS // 2, replay["continued"]


def test_a_customer_id_only_changes_through_a_recorded_merge(replay: dict) -> None:
    merges = set(
        table(
            replay["incremental"],
            "select merged_customer_id, into_customer_id from identity_merges",
        )
    )
    for before, after in zip(replay["snapshots"], replay["snapshots"][1:], strict=False):
        for identifier, customer in before.items():
            if after[identifier] != customer:
                assert (customer, after[identifier]) in merges, identifier
    assert merges, "the replay should merge customers at least once (late identification)"


def test_no_customer_is_split_after_a_merge(replay: dict) -> None:
    merged = {
        m
        for m, _ in table(
            replay["incremental"],
            "select merged_customer_id, into_customer_id from identity_merges",
        )
    }
    still_there = table(replay["incremental"], "select distinct customer_id from customer_timeline")
    assert not merged & {c for (c,) in still_there}


def test_the_replay_resolves_people_as_well_as_one_run(replay: dict) -> None:
    scores = evaluate(replay["incremental"] / "wh.duckdb", replay["truth"])
    assert scores.precision >= 0.995 and scores.recall >= 0.98, scores


@pytest.mark.parametrize("profile", ["default", "messy"])
def test_precision_and_recall_on_generated_profiles(profile: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    assert (
        journeyline(
            "generate",
            "--out",
            str(landing),
            "--people",
            "1500",
            "--seed",
            "21",
            "--profile",
            profile,
        )
        == 0
    )
    (tmp_path / "journeyline.yml").write_text(CONFIG, encoding="utf-8")
    run(landing, tmp_path)
    scores = evaluate(tmp_path / "wh.duckdb", landing / "_truth")
    assert scores.precision >= 0.995, scores
    assert scores.recall >= 0.98, scores
    if profile == "messy":
        refused = table(
            tmp_path, "select count(*) from identity_conflicts where rule = 'shared_identifier'"
        )
        assert refused[0][0] > 0
