"""Each failure class SPEC §8 guards against, injected into a real run after a published baseline.

Landing folders are generated, then damaged the way real feeds break: most files
missing (a 90% volume drop), a shared inbox gluing hundreds of visitors into one
person (a super-node), a CRM export that starts hashing e-mail addresses (the
sales stream no longer joins), a source that stops delivering (stale). Duplicate
event ids and gaps in event_seq cannot come from input (the pipeline removes
them), so they are injected into the lake attempt's timeline before dbt reads it,
as a faulty step would. Every blocked run must exit 3, name the check, and leave
the published tables exactly as they were (checksums); a warning publishes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from journeyline.config import default_config
from journeyline.privacy import hasher_for
from journeyline.warehouse.dbt_runner import DbtOutcome
from journeyline.warehouse.project import LAKE_RUN_PATH_ENV
from journeyline.warehouse.publish import DATA_TABLES, table_checksum
from journeyline.warehouse.worker import WarehouseWorker
from tests.e2e.conftest import journeyline

PEOPLE = 150
SEED = 5
DAYS = 150
START = datetime(2025, 1, 1, tzinfo=UTC)  # `journeyline generate`'s default first day


@dataclass(frozen=True)
class World:
    landing: Path
    warehouse: Path
    lake: Path


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    checks: dict[str, dict]
    status: str


def run(world: World, landing: Path) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = journeyline(
            "run",
            "--input",
            str(landing),
            "--warehouse",
            str(world.warehouse),
            "--lake",
            str(world.lake),
            "--quiet",
            # The damaged copy replaces the input: compare it with the published run as a whole.
            "--full-refresh",
        )
    con = duckdb.connect(str(world.warehouse), read_only=True)
    try:
        run_id, status = con.execute(
            "select run_id, status from main.pipeline_runs order by started_at desc limit 1"
        ).fetchone()
        cursor = con.execute("select * from main.dq_results where run_id = ?", [run_id])
        names = [d[0] for d in cursor.description]
        checks = {r[1]: dict(zip(names, r, strict=True)) for r in cursor.fetchall()}
    finally:
        con.close()
    return Outcome(code, out.getvalue(), err.getvalue(), checks, status)


def published_state(world: World) -> dict[str, str]:
    """Checksums of every published data table, and the lake's CURRENT pointer."""
    con = duckdb.connect(str(world.warehouse), read_only=True)
    try:
        state = {t: table_checksum(con, "main", t) for t in DATA_TABLES}
    finally:
        con.close()
    state["lake CURRENT"] = (world.lake / "CURRENT").read_text(encoding="utf-8")
    return state


def damaged_copy(
    src: Path, dst: Path, damage: Callable[[str, list[dict]], list[dict]] | None = None
) -> Path:
    """Copy a landing folder, passing each file's events through ``damage(relative, events)``."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("_truth"))
    if damage is None:
        return dst
    for path in sorted(dst.rglob("*.jsonl")):
        lines = path.read_bytes().splitlines()
        events, noise = [], []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                noise.append(line)
        kept = damage(path.relative_to(dst).as_posix(), events)
        if kept is None:
            path.unlink()
            continue
        body = [json.dumps(e).encode() for e in kept] + noise
        path.write_bytes(b"\n".join(body) + b"\n")
    return dst


def assert_blocked_and_unchanged(outcome: Outcome, before: dict, after: dict, check: str) -> dict:
    assert outcome.code == 3, outcome.stderr
    assert outcome.status == "blocked"
    assert after == before, "a blocked run changed the published tables"
    result = outcome.checks[check]
    assert (result["status"], result["severity"]) == ("fail", "error")
    # the exit message names the check, its target, the observed value and the threshold
    line = next(ln for ln in outcome.stderr.splitlines() if f"✗ {check} on " in ln)
    assert result["target"] in line and "observed" in line and result["threshold"] in line
    assert "the published tables are unchanged" in outcome.stderr
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A generated landing folder, run once and published: the baseline every test damages."""
    root = tmp_path_factory.mktemp("gates")
    landing = root / "landing"
    with contextlib.redirect_stdout(io.StringIO()):
        assert (
            journeyline(
                "generate",
                "--out",
                str(landing),
                "--people",
                str(PEOPLE),
                "--seed",
                str(SEED),
                "--days",
                str(DAYS),
            )
            == 0
        )
    world = World(landing, root / "wh.duckdb", root / "lake")
    baseline = run(world, landing)
    assert baseline.code == 0, baseline.stdout + baseline.stderr
    assert baseline.checks["source_volume"]["observed_value"] is None  # first run: no history
    details = baseline.checks["source_volume"]["details"]
    assert "no published run with input to compare with" in details
    return world


def test_a_90_percent_volume_drop_blocks_publishing(world: World, tmp_path: Path) -> None:
    def keep_a_tenth(_name: str, events: list[dict]) -> list[dict]:
        return events[: len(events) // 10]

    before = published_state(world)
    outcome = run(world, damaged_copy(world.landing, tmp_path / "landing", keep_a_tenth))

    result = assert_blocked_and_unchanged(outcome, before, published_state(world), "source_volume")
    assert result["threshold"] == ">= -0.5"
    drops = {s["source"]: s["volume_change"] for s in json.loads(result["samples"])}
    assert set(drops) == {"marketing", "sales"}  # service: a baseline under min_rows, unjudged
    assert drops["marketing"] == pytest.approx(-0.9, abs=0.01)  # large files: exactly a tenth
    assert result["observed_value"] == min(drops.values()) <= -0.85


def test_a_super_node_is_refused_reported_and_the_run_publishes(
    world: World, tmp_path: Path
) -> None:
    landing = damaged_copy(world.landing, tmp_path / "landing")
    # A shared inbox typed into the web form on 600 devices: one e-mail, 600 visitors.
    shared = [
        {
            "event_id": f"evt_shared_inbox_{i:04d}",
            "source": "web",
            "stream": "marketing",
            "event_type": "form_submitted",
            "occurred_at": f"2025-02-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
            "received_at": f"2025-02-{1 + i % 28:02d}T10:{i % 60:02d}:30Z",
            "identifiers": {"anonymous_id": f"anon-shared-{i:04d}", "email": "info@acme-corp.com"},
            "channel": "web",
        }
        for i in range(600)
    ]
    (landing / "marketing" / "marketing-shared-inbox.jsonl").write_text(
        "\n".join(json.dumps(e) for e in shared) + "\n", encoding="utf-8"
    )

    outcome = run(world, landing)

    # The super-node guard refuses the inbox instead of merging 600 visitors: the run
    # publishes, the invariants hold, and the refusal is reported as a warning.
    assert outcome.code == 0, outcome.stderr
    result = outcome.checks["super_nodes"]
    assert (result["status"], result["severity"]) == ("fail", "warn")
    assert result["observed_value"] == 1
    hasher = hasher_for(default_config().privacy)
    assert hasher is not None  # e-mails are stored as keyed hashes (tests/conftest.py's key)
    inbox = hasher.value("email", "info@acme-corp.com")
    assert json.loads(result["samples"])[0]["identifier_value"] == inbox
    assert outcome.checks["component_size"]["status"] == "pass"
    assert outcome.checks["identifier_limits"]["status"] == "pass"
    con = duckdb.connect(str(world.warehouse), read_only=True)
    try:
        largest = con.execute(
            "select max(n) from (select count(*) as n from main.identity_map group by customer_id)"
        ).fetchone()[0]
        refused = con.execute(
            "select rule from main.identity_conflicts where identifier_value = ?", [inbox]
        ).fetchall()
    finally:
        con.close()
    assert largest < 500 and refused == [("super_node",)]


def test_a_stream_that_stops_joining_blocks_publishing(world: World, tmp_path: Path) -> None:
    def hash_contact_details(name: str, events: list[dict]) -> list[dict]:
        # The CRM export starts hashing e-mail addresses and drops phone numbers.
        if name.startswith("sales/"):
            for e in events:
                ids = e.get("identifiers")
                if isinstance(ids, dict):
                    ids.pop("phone", None)
                    if isinstance(ids.get("email"), str):
                        digest = hashlib.sha1(ids["email"].encode()).hexdigest()[:20]
                        ids["email"] = f"h{digest}@crm-hash.example.com"
        return events

    before = published_state(world)
    outcome = run(world, damaged_copy(world.landing, tmp_path / "landing", hash_contact_details))

    result = assert_blocked_and_unchanged(outcome, before, published_state(world), "match_rate")
    assert result["observed_value"] < 0.8 and result["threshold"] == ">= 0.8"
    assert json.loads(result["samples"])[0]["stream"] == "sales"


def timeline_parts(attempt: Path) -> dict[Path, pa.Table]:
    """Every Parquet file of a lake attempt's timeline, read."""
    return {path: pq.read_table(path) for path in sorted((attempt / "timeline").rglob("*.parquet"))}


def damage_timeline(attempt: Path) -> None:
    """One event twice and one customer with a gap in event_seq, in the lake's timeline."""
    tables = timeline_parts(attempt)
    everything = pa.concat_tables(tables.values())
    first = pc.min(everything.column("event_id")).as_py()
    last_customer = pc.max(everything.column("customer_id")).as_py()
    for path, table in tables.items():
        gapped = pc.and_(
            pc.equal(table.column("customer_id"), last_customer),
            pc.equal(table.column("event_seq"), 1),
        )
        seq = pc.if_else(gapped, pc.add(table.column("event_seq"), 5), table.column("event_seq"))
        table = table.set_column(table.schema.get_field_index("event_seq"), "event_seq", seq)
        copy = table.filter(pc.equal(table.column("event_id"), first))
        pq.write_table(pa.concat_tables([table, copy]), path)


def damage_stage(attempt: Path) -> None:
    """A stage no journey has, on every event of one customer, in the lake's timeline."""
    tables = timeline_parts(attempt)
    last_customer = pc.max(pa.concat_tables(tables.values()).column("customer_id")).as_py()
    for path, table in tables.items():
        stage = pc.if_else(
            pc.equal(table.column("customer_id"), last_customer),
            "nowhere",
            table.column("lifecycle_stage"),
        )
        index = table.schema.get_field_index("lifecycle_stage")
        pq.write_table(table.set_column(index, table.field(index), stage), path)


def faulty_lake(
    monkeypatch: pytest.MonkeyPatch, damage: Callable[[Path], None]
) -> dict[str, DbtOutcome]:
    """Damage the lake attempt before the run's first dbt call, as a faulty step upstream
    of dbt would; fills in the outcome of the run's first call of each dbt command."""
    real_dbt = WarehouseWorker.dbt
    calls: dict[str, DbtOutcome] = {}

    def dbt(worker: WarehouseWorker, command: list[str]) -> DbtOutcome:
        if not calls:
            damage(Path(worker.dbt_args["env"][LAKE_RUN_PATH_ENV]))
        outcome = real_dbt(worker, command)
        calls.setdefault(command[0], outcome)  # the first build: the run's (the last: ops)
        return outcome

    monkeypatch.setattr(WarehouseWorker, "dbt", dbt)
    return calls


def run_on_damaged_lake(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: Callable[[Path], None]
) -> tuple[Outcome, dict[str, DbtOutcome], dict[str, str]]:
    """A run of the undamaged landing copy whose lake is damaged: outcome, dbt calls, and
    the published state before it."""
    calls = faulty_lake(monkeypatch, damage)
    before = published_state(world)
    return run(world, damaged_copy(world.landing, tmp_path / "landing")), calls, before


def test_duplicate_event_ids_and_gaps_in_event_seq_block_publishing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome, calls, before = run_on_damaged_lake(world, tmp_path, monkeypatch, damage_timeline)
    after = published_state(world)
    unique = assert_blocked_and_unchanged(outcome, before, after, "unique_event_id")
    contiguous = assert_blocked_and_unchanged(outcome, before, after, "contiguous_event_seq")
    assert unique["observed_value"] == 1
    assert contiguous["observed_value"] == 2  # the duplicate's customer and the gapped one
    assert not calls["build"].skipped_nodes()  # customer_timeline: no model reads it
    assert "run" not in calls


def test_a_failing_test_before_the_marts_still_builds_every_mart_and_runs_every_test(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dbt build` skips the models after a failing test; the run builds them anyway."""
    outcome, calls, before = run_on_damaged_lake(world, tmp_path, monkeypatch, damage_stage)
    check = "dbt:accepted_lifecycle_stages_customers_current_stage"
    result = assert_blocked_and_unchanged(outcome, before, published_state(world), check)
    assert result["observed_value"] == 1
    skipped = calls["build"].skipped_nodes()
    assert {n.name for n in skipped} >= {"fct_journey_consistency", "agg_journey_consistency"}
    models = [n for n in calls["run"].nodes if n.resource_type == "model"]
    assert len(models) > 30 and all(n.status == "success" for n in models)
    tests = [n for n in calls["test"].nodes if n.is_test]
    assert len(tests) == len([n for n in calls["build"].nodes if n.is_test])
    assert not [n for n in tests if n.status == "skipped"]
    assert {n.name for n in tests if n.failed} <= {c[4:] for c in outcome.checks if c[:4] == "dbt:"}


def test_a_stale_source_warns_and_still_publishes(world: World, tmp_path: Path) -> None:
    def next_fortnight(name: str, events: list[dict]) -> list[dict]:
        # Marketing and sales deliver two more weeks of events; service's export is stuck.
        if name.startswith("service/"):
            return events
        end = START + timedelta(days=DAYS + 14)
        later = [
            dict(e, event_id=f"{e['event_id']}_next", occurred_at=at, received_at=at)
            for i, e in enumerate(events[:5])
            for at in [(end + timedelta(minutes=i)).isoformat()]
        ]
        return events + later

    outcome = run(world, damaged_copy(world.landing, tmp_path / "landing", next_fortnight))

    assert outcome.code == 0, outcome.stderr
    assert outcome.status == "published"
    fresh = outcome.checks["source_freshness"]
    assert (fresh["status"], fresh["severity"]) == ("fail", "warn")
    assert fresh["observed_value"] > 14 * 24
    assert json.loads(fresh["samples"])[0]["source"] == "service"
    assert outcome.checks["source_volume"]["status"] == "pass"
    assert "source_freshness" in outcome.stdout  # the run summary reports the warning
