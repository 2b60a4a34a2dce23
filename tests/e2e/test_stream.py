"""`journeyline stream` end to end: files dropped into a watched folder over time, a late batch,
Ctrl-C; then the timeline against `journeyline run` on the same files and the alerts against
an independent computation from the events.

Generated data is re-cut into one file per stream and month of event time, dropped month by
month (each read in its own poll, so the watermark moves month by month). Withheld for a late
batch dropped last: the last days of some people (late, within the allowed lateness: they are
re-sequenced into the timeline) and whole journeys of others that ended well before the final
watermark (beyond it: they go to the late output, and the next batch run picks them up). A
hand-made customer adds a detractor, post-purchase tickets and repeat contacts.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

from journeyline.cli import main
from journeyline.stream import stream_timeline

PEOPLE, SEED, DAYS = 500, 23, 330
WINDOW_DAYS, LATENESS_DAYS = 1, 10
RELEVANT = {
    "mql_reached",
    "sales_contacted",
    "meeting_held",
    "survey_answered",
    "ticket_replied",
    "ticket_resolved",
    "onboarding_started",
    "deal_won",
    "ticket_opened",
}
CONFIG = f"""
streaming:
  window_minutes: {WINDOW_DAYS * 1440}
  allowed_lateness_hours: {LATENESS_DAYS * 24}
  poll_seconds: 0.3
"""


@dataclass(frozen=True)
class Plan:
    """What the test dropped, in order, and what it expects of the late batch."""

    drops: list[list[Path]]  # files per drop (month order, then the late batch)
    late_within: set[str]  # event ids dropped late, within the allowed lateness
    too_late: set[str]  # event ids dropped beyond the allowed lateness
    too_late_people: set[str]


def _month(line: bytes, fallback: str) -> str:
    """The YYYY-MM of a line's occurred_at, else (malformed lines) its file's month."""
    try:
        month = str(orjson.loads(line)["occurred_at"])[:7]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return fallback
    return month if re.fullmatch(r"\d{4}-\d{2}", month) else fallback


def _extra_customer() -> list[dict]:
    """A customer who buys, opens three tickets within a week and answers NPS 3."""
    steps = [
        ("sales", "deal_won", "2025-06-10T08:00:00Z"),
        ("service", "ticket_opened", "2025-06-10T09:00:00Z"),
        ("service", "ticket_opened", "2025-06-10T15:00:00Z"),
        ("service", "survey_answered", "2025-06-12T16:00:00Z"),
        ("service", "ticket_opened", "2025-06-12T18:00:00Z"),
    ]
    out = []
    for i, (stream, event_type, at) in enumerate(steps):
        event = {
            "event_id": f"zz-{i}",
            "source": "crm",
            "stream": stream,
            "event_type": event_type,
            "occurred_at": at,
            "received_at": at,
            "identifiers": {"email": "zoe@zz-extra.example"},
        }
        if event_type == "survey_answered":
            event.update(survey_type="nps", score=3)
        out.append(event)
    return out


def plan_drops(generated: Path, work: Path) -> Plan:
    """Re-cut the generated landing files by event month; withhold the late batch."""
    truth = pd.read_parquet(generated / "_truth" / "events.parquet")
    end = truth.occurred_at.max()
    last_seen = truth.groupby("person_id").occurred_at.agg(["max", "size"])
    gone = last_seen[(last_seen["max"] < end - timedelta(days=LATENESS_DAYS + 25))]
    too_late_people = set(gone[gone["size"] >= 4].index[:6])
    recent = truth[truth.occurred_at > end - timedelta(days=LATENESS_DAYS - 3)]
    quiet = recent.groupby("person_id").event_type.agg(lambda t: not set(t) & RELEVANT)
    within_people = set(quiet[quiet].index[:8]) - too_late_people
    too_late = set(truth[truth.person_id.isin(too_late_people)].event_id)
    late_within = set(recent[recent.person_id.isin(within_people)].event_id)
    assert too_late and late_within

    by_file: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for path in sorted(generated.glob("*/*.jsonl")):
        stream, fallback = path.parent.name, path.stem.split("-", 1)[1]
        for line in path.read_bytes().splitlines():
            try:
                event_id = orjson.loads(line).get("event_id")
            except (orjson.JSONDecodeError, AttributeError):
                event_id = None
            key = "late" if event_id in too_late | late_within else _month(line, fallback)
            by_file[(stream, key)].append(line)
    for event in _extra_customer():
        by_file[(event["stream"], event["occurred_at"][:7])].append(orjson.dumps(event))

    staged = work / "staged"
    files: dict[str, list[Path]] = defaultdict(list)
    for (stream, key), lines in sorted(by_file.items()):
        path = staged / stream / f"{stream}-{key}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\n".join(lines) + b"\n")
        files[key].append(path)
    drops = [files[key] for key in sorted(k for k in files if k != "late")] + [files["late"]]
    return Plan(drops, late_within, too_late, too_late_people)


def _status(lake: Path) -> dict:
    """The status of the newest stream run (run ids sort by start time)."""
    found = [p for p in (lake / "stream" / "runs").glob("stream_*.json") if ".counts" not in p.name]
    return json.loads(max(found).read_text()) if found else {"files": []}


def _wait_read(lake: Path, count: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(_status(lake).get("files", [])) >= count:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError(f"the stream did not read {count} files in {timeout} s")


@dataclass(frozen=True)
class Streamed:
    plan: Plan
    landing: Path
    lake: Path
    warehouse: Path
    exit_code: int
    stdout: str
    seconds: float
    batch_exit: int


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> Streamed:
    work = tmp_path_factory.mktemp("stream")
    generated = work / "generated"
    assert main(["generate", "--out", str(generated), "--people", str(PEOPLE), "--seed",
                 str(SEED), "--days", str(DAYS)]) == 0  # fmt: skip
    plan = plan_drops(generated, work)
    landing, lake = work / "landing", work / "lake"
    for stream in ("marketing", "sales", "service"):
        (landing / stream).mkdir(parents=True)
    (work / "journeyline.yml").write_text(CONFIG, encoding="utf-8")
    args = ["--config", str(work / "journeyline.yml"), "--input", str(landing), "--lake", str(lake)]
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "journeyline.cli", "stream", *args, "--stop-after", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    dropped = 0
    for files in plan.drops:
        for path in files:
            target = landing / path.parent.name / path.name
            tmp = target.with_name(f".{path.name}.part")
            tmp.write_bytes(path.read_bytes())
            tmp.rename(target)
        dropped += len(files)
        _wait_read(lake, dropped, proc)
    proc.send_signal(signal.SIGINT)  # Ctrl-C: stop cleanly
    out, _ = proc.communicate(timeout=300)
    seconds = time.monotonic() - started
    batch = main(["run", *args, "--warehouse", str(work / "wh.duckdb"), "--quiet"])
    return Streamed(plan, landing, lake, work / "wh.duckdb", proc.returncode, out, seconds, batch)


def _warehouse(run: Streamed, query: str) -> pd.DataFrame:
    con = duckdb.connect(str(run.warehouse), read_only=True)
    try:
        return con.execute(query).df()
    finally:
        con.close()


def test_ctrl_c_stops_cleanly_and_every_input_is_accounted_for(streamed: Streamed) -> None:
    assert streamed.exit_code == 0, streamed.stdout
    assert "STOPPED" in streamed.stdout and "NO" not in streamed.stdout
    counts = json.loads(next((streamed.lake / "stream" / "runs").glob("*.counts.json")).read_text())
    assert counts["pending"] == 0
    lines = sum(len(p.read_bytes().splitlines()) for d in streamed.plan.drops for p in d)
    status = _status(streamed.lake)
    inputs = sum(s["input_count"] for s in status["inputs"].values())
    assert inputs == lines
    out = sum(sum(counts[kind].values()) for kind in ("accepted", "duplicates", "late")) + sum(
        s["quarantined_count"] for s in status["inputs"].values()
    )
    assert out == inputs  # nothing lost: accepted + quarantined + duplicates + late


def test_events_beyond_the_lateness_are_written_for_the_next_batch_run(streamed: Streamed) -> None:
    late = [
        orjson.loads(line)
        for path in (streamed.lake / "stream" / "late").glob("*/*.jsonl")
        for line in path.read_bytes().splitlines()
    ]
    assert {e["event_id"] for e in late} == streamed.plan.too_late
    assert streamed.batch_exit == 0
    batch_ids = set(_warehouse(streamed, "select event_id from main.customer_timeline").event_id)
    assert streamed.plan.too_late <= batch_ids  # picked up by `journeyline run`


def test_the_timeline_equals_the_batch_run_on_the_same_files(streamed: Streamed) -> None:
    stream = stream_timeline(str(streamed.lake / "stream")).to_pandas()
    batch = _warehouse(streamed, "select * from main.customer_timeline")
    gone = set(batch[batch.event_id.isin(streamed.plan.too_late)].customer_id)
    batch = batch[~batch.customer_id.isin(gone)]
    assert streamed.plan.late_within <= set(stream.event_id)  # late, yet placed
    assert not set(stream.event_id) & streamed.plan.too_late
    columns = ["event_id", "customer_id", "event_seq", "occurred_at", "received_at", "stream",
               "source", "event_type", "channel", "message_theme", "account_id", "score",
               "lifecycle_stage", "stage_changed", "properties"]  # fmt: skip
    left = stream[columns].sort_values("event_id").reset_index(drop=True)
    right = batch[columns].sort_values("event_id").reset_index(drop=True)
    for frame in (left, right):
        for column in ("occurred_at", "received_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False)


def expected_alerts(timeline: pd.DataFrame, closed_at: pd.Timestamp) -> set[tuple]:
    """SPEC §7 computed from the events, independently of transforms.alerts."""
    hour, day = pd.Timedelta(hours=1), pd.Timedelta(days=1)
    out: set[tuple] = set()
    for customer, rows in timeline.sort_values(["customer_id", "event_seq"]).groupby("customer_id"):
        events = list(rows.itertuples())
        for m in (e for e in events if e.event_type == "mql_reached"):
            touched = any(
                e.event_type in ("sales_contacted", "meeting_held")
                and m.occurred_at <= e.occurred_at <= m.occurred_at + 24 * hour
                for e in events
            )
            if not touched and m.occurred_at + 24 * hour <= closed_at:
                out.add(("lead_followup_breach", "breach", customer, m.occurred_at + 24 * hour))
        for s in (e for e in events if e.event_type == "survey_answered"):
            if not (
                (s.survey_type == "nps" and s.score <= 6)
                or (s.survey_type == "csat" and s.score <= 2)
            ):
                continue
            out.add(("detractor", "raised", customer, s.occurred_at))
            touched = any(
                e.event_type in ("ticket_replied", "ticket_resolved", "onboarding_started")
                and s.occurred_at < e.occurred_at <= s.occurred_at + 48 * hour
                for e in events
            )
            if not touched and s.occurred_at + 48 * hour <= closed_at:
                out.add(("detractor", "escalated", customer, s.occurred_at + 48 * hour))
        tickets = [e for e in events if e.event_type == "ticket_opened"]
        for t in tickets:
            won = [
                e for e in events if e.event_type == "deal_won" and e.occurred_at <= t.occurred_at
            ]
            if won and t.occurred_at - won[-1].occurred_at <= 14 * day:
                out.add(("post_purchase_friction", "raised", customer, t.occurred_at))
            recent = [
                u for u in tickets if t.occurred_at - 7 * day < u.occurred_at <= t.occurred_at
            ]
            if len([u for u in recent if u.event_seq <= t.event_seq]) == 3:
                out.add(("repeat_contact", "raised", customer, t.occurred_at))
    return out


def test_alerts_match_an_independent_computation_and_are_published(streamed: Streamed) -> None:
    stream_alerts = pq.read_table(streamed.lake / "stream" / "alerts").to_pandas()
    warehouse = _warehouse(streamed, "select * from main.alerts")
    assert sorted(stream_alerts.alert_id) == sorted(warehouse.alert_id)  # published, once each
    timeline = _warehouse(
        streamed,
        "select customer_id, event_seq, event_type, occurred_at, survey_type, score "
        "from main.customer_timeline",
    )
    timeline["occurred_at"] = pd.to_datetime(timeline.occurred_at, utc=True)
    batch = _warehouse(streamed, "select event_id, customer_id from main.customer_timeline")
    gone = set(batch[batch.event_id.isin(streamed.plan.too_late)].customer_id)
    closed_at = stream_timeline(str(streamed.lake / "stream")).to_pandas().occurred_at.max()
    expected = expected_alerts(timeline[~timeline.customer_id.isin(gone)], pd.Timestamp(closed_at))
    got = {
        (r.alert_type, json.loads(r.details)["level"], r.customer_id, pd.Timestamp(r.raised_at))
        for r in warehouse.itertuples()
    }
    assert got == expected
    assert {kind for kind, *_ in got} == {
        "lead_followup_breach",
        "detractor",
        "post_purchase_friction",
        "repeat_contact",
    }
    sink = (streamed.lake / "stream" / "alerts.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["alert_id"] for line in sink) == sorted(warehouse.alert_id)


def test_a_new_stream_continues_from_the_published_state(streamed: Streamed) -> None:
    # a CRM contact id: stored as is (e-mails are keyed hashes in the warehouse)
    known = _warehouse(
        streamed,
        "select customer_id, max(event_seq) as last_seq, "
        "max(identifiers['contact_id']) as contact_id from main.customer_timeline "
        "group by 1 having max(identifiers['contact_id']) is not null order by 1 limit 1",
    ).iloc[0]
    event = {
        "event_id": "next-1",
        "event_type": "sales_contacted",
        "occurred_at": "2026-01-05T09:00:00Z",
        "received_at": "2026-01-05T09:00:00Z",
        "identifiers": {"contact_id": known.contact_id},
    }
    (streamed.landing / "sales" / "sales-next.jsonl").write_bytes(orjson.dumps(event) + b"\n")
    args = ["--input", str(streamed.landing), "--lake", str(streamed.lake), "--stop-after", "300"]
    config = streamed.lake.parent / "journeyline.yml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "journeyline.cli", "stream", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    before = {p.name for p in (streamed.lake / "stream" / "runs").glob("stream_*.json")}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = {p.name for p in (streamed.lake / "stream" / "runs").glob("stream_*.json")}
        if runs - before and _status(streamed.lake)["files"]:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert [f["path"] for f in _status(streamed.lake)["files"]] == [
        str(streamed.landing / "sales" / "sales-next.jsonl")
    ]  # the published run ingested every other file
    rows = stream_timeline(str(streamed.lake / "stream")).to_pandas()
    new = rows[rows.event_id == "next-1"].iloc[0]
    assert (new.customer_id, new.event_seq) == (known.customer_id, known.last_seq + 1)


def test_stop_after_ends_an_idle_stream_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    landing = tmp_path / "landing"
    for stream in ("marketing", "sales", "service"):
        (landing / stream).mkdir(parents=True)
    args = ["stream", "--input", str(landing), "--lake", str(tmp_path / "lake"), "--quiet"]
    assert main([*args, "--stop-after", "1"]) == 0
    out = capsys.readouterr().out
    assert "STOPPED" in out and "files read: 0" in out


def test_a_missing_folder_or_a_bad_stop_after_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["stream", "--input", str(tmp_path / "nowhere"), "--stop-after", "5"]) == 2
    assert "the input folder" in capsys.readouterr().err
    (tmp_path / "in" / "sales").mkdir(parents=True)
    assert main(["stream", "--input", str(tmp_path / "in"), "--stop-after", "0"]) == 2
    assert "--stop-after must be a positive number" in capsys.readouterr().err
