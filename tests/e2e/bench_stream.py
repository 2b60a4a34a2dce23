"""Measure `journeyline stream` locally: sustained events/s and file-to-timeline latency.

.venv/bin/python tests/e2e/bench_stream.py [people] [days] [backlog_share]

Generated data is cut into one file per stream and day of event time. Phase 1 drops the
first ``backlog_share`` of the days at once (a backlog): events/s = events in the timeline
/ seconds from the drop until the last revision is written. Phase 2 drops the remaining
days one per second, as a live feed: the latency of an event is the time from its file
landing until the timeline revision holding it is written (events whose hourly window the
file itself closes: all but those of its last hour, which wait for the next file). The
stream is then stopped with Ctrl-C. A script, not a test: `make test` does not run it.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from journeyline.generate import generate

CONFIG = """
streaming:
  window_minutes: 60
  allowed_lateness_hours: 240
  poll_seconds: 0.25
"""


def _cut_by_day(generated: Path, out: Path) -> list[tuple[str, list[Path]]]:
    """(day, files) in day order: one file per stream and event day (malformed lines go to
    the day of the line before them)."""
    lines: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for path in sorted(generated.glob("*/*.jsonl")):
        day = None
        for line in path.read_bytes().splitlines():
            with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                stamp = str(orjson.loads(line)["occurred_at"])[:10]
                day = stamp if re.fullmatch(r"\d{4}-\d{2}-\d{2}", stamp) else day
            if day:
                lines[(day, path.parent.name)].append(line)
    days: dict[str, list[Path]] = defaultdict(list)
    for (day, stream), chunk in sorted(lines.items()):
        target = out / stream / f"{stream}-{day}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"\n".join(chunk) + b"\n")
        days[day].append(target)
    return sorted(days.items())


def _drop(files: list[Path], landing: Path) -> float:
    for path in files:
        target = landing / path.parent.name / path.name
        tmp = target.with_name(f".{path.name}.part")
        tmp.write_bytes(path.read_bytes())
        tmp.rename(target)
    return time.time()


def _revisions(output: Path) -> list[tuple[float, list[str]]]:
    """(written at, event ids) of every timeline revision file."""
    return sorted(
        (p.stat().st_mtime, pq.read_table(p, columns=["event_id"]).column(0).to_pylist())
        for p in (output / "timeline").glob("*.parquet")
    )


def _read(status_dir: Path) -> int:
    found = [p for p in status_dir.glob("stream_*.json") if ".counts" not in p.name]
    return len(json.loads(found[0].read_text())["files"]) if found else 0


def _settle(output: Path, files: int, proc: subprocess.Popen, quiet: float = 3.0) -> float:
    """Wait until the feed read ``files`` files and no revision came for ``quiet`` seconds."""
    while _read(output / "runs") < files:
        if proc.poll() is not None:
            raise SystemExit(f"the stream ended early:\n{proc.communicate()[0]}")
        time.sleep(0.2)
    while True:
        last = max((p.stat().st_mtime for p in (output / "timeline").glob("*.parquet")), default=0)
        if last and time.time() - last > quiet:
            return last
        time.sleep(0.5)


def _backlog(files: list[Path], landing: Path, output: Path, proc: subprocess.Popen) -> None:
    """Drop every file at once; print how fast the stream placed their events."""
    dropped_at = _drop(files, landing)
    finished = _settle(output, len(files), proc)
    events = len({e for _, ids in _revisions(output) for e in ids})
    seconds = finished - dropped_at
    print(
        f"backlog: {len(files)} files, {events:,} events placed in {seconds:.1f} s "
        f"= {events / seconds:,.0f} events/s"
    )


def _live(
    days: list[tuple[str, list[Path]]],
    landing: Path,
    output: Path,
    before: int,
    proc: subprocess.Popen,
) -> None:
    """Drop one day per second; print the file-to-timeline latency of the events each file's
    own watermark releases (its last hour waits for the next file)."""
    landed: dict[str, float] = {}
    released: dict[str, str] = {}  # event id → day of its file
    newest = ""
    for day, files in days:
        landed[day] = _drop(files, landing)
        rows = []
        for path in files:
            for line in path.read_bytes().splitlines():
                with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                    value = orjson.loads(line)
                    rows.append((value["event_id"], str(value["occurred_at"])))
        newest = max([newest, *(t for _, t in rows)])
        released.update((e, day) for e, t in rows if t[:13] < newest[:13])
        time.sleep(1.0)
    _settle(output, before + sum(len(f) for _, f in days), proc)
    first: dict[str, float] = {}
    for written, ids in _revisions(output):
        for event_id in ids:
            first.setdefault(event_id, written)
    delays = sorted(first[e] - landed[day] for e, day in released.items() if e in first)
    if delays:
        p50, p95 = delays[len(delays) // 2], delays[int(len(delays) * 0.95)]
        print(
            f"live: {len(days)} daily drops 1 s apart; file-to-timeline latency of "
            f"{len(delays):,} events: p50 {p50:.2f} s, p95 {p95:.2f} s, max {delays[-1]:.2f} s"
        )


def main(people: int = 2000, days: int = 365, backlog_share: float = 0.5) -> None:
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        generate(work / "generated", people=people, seed=5, days=days)
        plan = _cut_by_day(work / "generated", work / "cut")
        landing, lake = work / "landing", work / "lake"
        for stream in ("marketing", "sales", "service"):
            (landing / stream).mkdir(parents=True)
        (work / "journeyline.yml").write_text(CONFIG, encoding="utf-8")
        config = str(work / "journeyline.yml")
        command = [sys.executable, "-m", "journeyline.cli", "stream", "--config", config,
                   "--input", str(landing), "--lake", str(lake)]  # fmt: skip
        print("$", " ".join(command[2:]))
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            time.sleep(3)  # the pipeline starts
            split = int(len(plan) * backlog_share)
            backlog = [f for _, files in plan[:split] for f in files]
            _backlog(backlog, landing, lake / "stream", proc)
            _live(plan[split:], landing, lake / "stream", len(backlog), proc)
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=600)
            print(out.strip())
        finally:
            if proc.poll() is None:
                proc.kill()


if __name__ == "__main__":
    main(*(int(a) if i < 2 else float(a) for i, a in enumerate(sys.argv[1:])))
