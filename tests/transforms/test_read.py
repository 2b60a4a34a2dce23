"""ReadSources: every input record is accepted or quarantined with a reason, and counted."""

from __future__ import annotations

import json
import os
import random
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.testing.util import assert_that, equal_to

import transforms.read as read_module
from journeyline.config import default_config
from journeyline.privacy import hasher_for
from journeyline.schema import EVENT_SCHEMA
from tests.transforms.beam_helpers import local_pipeline
from transforms.handoff import SHARED_MEMORY
from transforms.read import (
    QUARANTINE,
    STATS,
    InputFile,
    ParseSourceFile,
    ReadSources,
    parse_workers_ahead,
    read_canonical_lines,
    read_part,
    record_hash,
)
from transforms.scan import record_hashes

GOOD = {
    "event_id": "e1",
    "stream": "marketing",
    "event_type": "page_viewed",
    "occurred_at": "2025-01-01T00:00:00Z",
    "identifiers": {"anonymous_id": "a1"},
}


def landing(tmp_path: Path) -> Path:
    good = GOOD
    lines = [
        json.dumps(good).encode(),
        b"",  # blank lines are not records
        b"{truncated",
        b"\xff\xfe not utf-8",
        json.dumps({**good, "event_id": "e2", "event_type": "levitated"}).encode(),
        json.dumps([1, 2, 3]).encode(),
    ]
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_canonical_lines_keep_their_location_and_reject_bad_bytes(tmp_path: Path) -> None:
    records = list(read_canonical_lines(str(landing(tmp_path)), max_raw_bytes=10_000))
    assert [r.location.rsplit(":", 1)[1] for r in records] == ["1", "3", "4", "5", "6"]
    assert records[1].value.code == "malformed_json"
    assert records[2].value.code == "malformed_json"
    assert "not valid UTF-8" in records[2].value.reason


def test_line_hashes_are_the_record_hashes_of_the_lines_without_their_endings() -> None:
    lines = [b"", b"{}", b"{}\r", b"{}\r\r", b"caf\xc3\xa9\r", b"\xff\xfe", b"a" * 10_000]
    expected = [record_hash(line.rstrip(b"\r\n")) for line in lines]
    assert record_hashes(lines).to_pylist() == expected
    assert record_hashes([b"{}\r"]).to_pylist() == [record_hash("{}")]


def test_read_sources_splits_accepted_quarantined_and_counts(tmp_path: Path) -> None:
    path = landing(tmp_path)
    config = default_config().with_input(tmp_path)
    files = [InputFile("marketing", str(path), path.stat().st_size, path.stat().st_mtime)]
    with local_pipeline() as p:
        out = p | ReadSources(config, "run_test", files)
        assert_that(
            out.events | beam.FlatMap(lambda t: t.column("event_id").to_pylist()),
            equal_to(["e1"]),
            label="Accepted",
        )
        assert_that(
            out[QUARANTINE]
            | beam.FlatMap(
                lambda t: zip(
                    t.column("reason_code").to_pylist(), t.column("run_id").to_pylist(), strict=True
                )
            )
            | beam.Map(tuple),
            equal_to(
                [
                    ("malformed_json", "run_test"),
                    ("malformed_json", "run_test"),
                    ("unknown_event_type", "run_test"),
                    ("not_an_object", "run_test"),
                ]
            ),
            label="Quarantined",
        )
        assert_that(
            out[STATS]
            | beam.Map(lambda s: (s["source"], s["input_count"], s["quarantined_count"])),
            equal_to([("marketing", 5, 4)]),
            label="Counted",
        )


def test_event_tables_have_one_schema_whichever_path_built_them(tmp_path: Path) -> None:
    """Columnar and per-row contract tables meet in one shard: they must concatenate."""
    derived = {k: v for k, v in GOOD.items() if k != "event_id"}  # per-row: id derived
    path = tmp_path / "m.jsonl"
    path.write_text(f"{json.dumps(GOOD)}\n{json.dumps(derived)}\n")
    config = default_config().with_input(tmp_path)
    parse = ParseSourceFile(config, "run_test")
    parse.setup()
    received = datetime(2025, 1, 2, tzinfo=UTC)
    item = InputFile("marketing", str(path), path.stat().st_size, path.stat().st_mtime)
    tables = [
        t for t in parse.parse_canonical(config.sources[0], item, received, 0, 1)
        if isinstance(t, pa.Table)
    ]  # fmt: skip
    assert len(tables) == 2
    assert all(t.schema == EVENT_SCHEMA for t in tables)
    assert pa.concat_tables(tables).num_rows == 2


def unwrapped(outputs: list) -> list:
    """The values of a DoFn's outputs: tagged outputs and windowed values (emitted at
    bundle end) unwrapped."""
    values = [getattr(o, "value", o) for o in outputs]  # tagged outputs
    return [getattr(v, "value", v) for v in values]  # windowed values


def pairs(values: list, first: str, second: str) -> list[tuple]:
    """(first, second) of every row of the tables among ``values`` that have ``first``."""
    return sorted(
        pair
        for t in values
        if isinstance(t, pa.Table) and first in t.column_names
        for pair in zip(t.column(first).to_pylist(), t.column(second).to_pylist(), strict=True)
    )


def test_files_parsed_by_worker_processes_give_the_same_outputs_and_counts(
    tmp_path: Path,
) -> None:
    """ParseSourceFile with processes=2 (the local runner on a big input) emits exactly what
    one process emits: the same events, quarantine rows and per-file counts."""
    files = []
    for n in range(3):
        (tmp_path / f"f{n}").mkdir()
        path = landing(tmp_path / f"f{n}")
        more = [json.dumps({**GOOD, "event_id": f"f{n}-{i}"}).encode() for i in range(50)]
        path.write_bytes(path.read_bytes() + b"\n".join(more) + b"\n")
        files.append(InputFile("marketing", str(path), path.stat().st_size, path.stat().st_mtime))
    config = default_config().with_input(tmp_path)

    def outputs(processes: int) -> dict[str, list]:
        parse = ParseSourceFile(config, "run_test", processes)
        parse.setup()
        try:
            out: list = []
            for item in files:
                out += parse.process(item)
            out += parse.finish_bundle()
            if processes > 1 and os.path.isdir(SHARED_MEMORY):
                # The workers' event tables came through shared memory, each file removed
                # as it was mapped; the directory goes with the pool.
                handoff = parse.pool.handoff
                assert handoff is not None and not os.listdir(handoff)
        finally:
            parse.teardown()
        if processes > 1 and os.path.isdir(SHARED_MEMORY):
            assert not os.path.exists(handoff)
        values = unwrapped(out)
        return {
            "events": pairs(values, "event_id", "input_file"),
            "quarantine": pairs(values, "reason_code", "location"),
            "stats": sorted(
                (v["source"], v["input_count"], v["quarantined_count"])
                for v in values
                if isinstance(v, dict)
            ),
        }

    one, two = outputs(1), outputs(2)
    assert one == two
    assert len(one["events"]) == 3 * 51 and len(one["quarantine"]) == 3 * 4
    assert one["stats"] == [("marketing", 55, 4)] * 3


@pytest.mark.parametrize("processes", [1, 2])
def test_quarantine_rows_leave_the_reader_redacted(tmp_path: Path, processes: int) -> None:
    """No clear e-mail or phone number in a quarantined line's raw text or reason, whether
    the file is parsed here or in worker processes (a batch run and a stream alike)."""
    path = tmp_path / "m.jsonl"
    lines = [
        b'{"broken": "Ann@Example.org", "phone": "+44 20 7946 0958"',
        json.dumps(
            {**GOOD, "event_type": "levitated", "identifiers": {"email": "ann@example.org"}}
        ).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    config = default_config().with_input(tmp_path)
    hasher = hasher_for(config.privacy)
    assert hasher is not None  # tests/conftest.py sets the key
    parse = ParseSourceFile(config, "run_test", processes)
    parse.setup()
    try:
        item = InputFile("marketing", str(path), path.stat().st_size, path.stat().st_mtime)
        out = [*parse.process(item), *parse.finish_bundle()]
    finally:
        parse.teardown()
    values = unwrapped(out)
    rows = pa.concat_tables(
        [v for v in values if isinstance(v, pa.Table) and "raw" in v.schema.names]
    ).to_pylist()
    assert [r["reason_code"] for r in rows] == ["malformed_json", "unknown_event_type"]
    text = " ".join(r["raw"] + r["reason"] for r in rows).lower()
    assert "ann@example.org" not in text and "7946" not in text
    assert text.count(hasher.value("email", "ann@example.org")) == 2


@pytest.mark.parametrize("seed", range(6))
def test_the_parts_of_a_file_are_its_lines_once_each_numbered_as_in_the_file(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(read_module, "_SKIP_CHUNK", rng.choice([1, 7, 64, 1 << 22]))
    lines = [
        b"x" * rng.choice([0, 0, 1, 2, 5, 40, 300]) + str(i).encode() * rng.randint(0, 1)
        for i in range(rng.randint(0, 60))
    ]
    data = b"\n".join(lines) + rng.choice([b"", b"\n"])
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    whole = data.split(b"\n")
    for parts in range(1, 9):
        numbered: list[tuple[int, bytes]] = []
        for part in range(parts):
            with open(path, "rb") as handle:
                first, got = read_part(handle, len(data), part, parts)
            numbered += enumerate(got, first)
        # in order, each line once, with its number in the whole file
        assert numbered == list(enumerate(whole, 1)), parts


def test_a_large_file_is_parsed_in_parts_with_the_outputs_of_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A canonical file of several parts' size goes to the workers in parts: the same events,
    quarantine rows (with the lines' numbers in the whole file) and counts as one process
    reading it whole; the file counts as read once its last part is in."""
    lines = [json.dumps({**GOOD, "event_id": f"e{i}"}).encode() for i in range(400)]
    for i in (0, 1, 127, 128, 130, 333, 399):  # bad lines about the parts' edges
        lines[i] = [b"\xef\xbb\xbf{truncated", b"", b"[1]", b"\xff not utf-8"][i % 4]
    path = tmp_path / "marketing.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    item = InputFile("marketing", str(path), path.stat().st_size, path.stat().st_mtime)
    config = default_config().with_input(tmp_path)
    monkeypatch.setattr(read_module, "PART_BYTES", item.size // 5)
    assert read_module.file_parts(config, item, 2) == 2
    assert read_module.file_parts(config, item, 1) == 1
    done: list[tuple[int, int]] = []
    monkeypatch.setattr(read_module.READS, "file_done", lambda n, files=1: done.append((n, files)))

    def outputs(processes: int) -> tuple:
        parse = ParseSourceFile(config, "run_test", processes)
        parse.setup()
        try:
            out = [*parse.process(item), *parse.finish_bundle()]
        finally:
            parse.teardown()
        values = unwrapped(out)
        counts = [(v["input_count"], v["quarantined_count"]) for v in values if isinstance(v, dict)]
        return (
            pairs(values, "event_id", "record_hash"),
            pairs(values, "reason_code", "location"),
            tuple(map(sum, zip(*counts, strict=True))),
            len(counts),
        )

    whole, in_parts = outputs(1), outputs(2)
    assert in_parts[:3] == whole[:3]
    assert whole[3] == 1 and in_parts[3] == 2  # a count record per part
    assert len(whole[0]) == 393 and whole[2] == (398, 5)  # two blank lines: no records
    assert [(code, location.rsplit(":", 1)[1]) for code, location in whole[1]] == [
        ("malformed_json", number) for number in ("1", "128", "129", "400")
    ] + [("not_an_object", "131")]
    # one file: counted as read once, when its second part came in
    assert sorted(files for _, files in done[1:]) == [0, 1] and done[0][1] == 1


def test_one_large_file_gets_as_many_parse_processes_as_parts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelines.batch import BatchRun, parse_processes

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    config = default_config()
    big = InputFile("marketing", "/in/marketing/m.jsonl", 5 * read_module.PART_BYTES, 0.0)
    small = InputFile("marketing", "/in/marketing/s.jsonl", read_module.PART_BYTES - 1, 0.0)
    assert [read_module.file_parts(config, f, 2) for f in (big, small)] == [2, 1]
    assert read_module.file_parts(config, big, 8) == 5  # parts of PART_BYTES at least
    assert parse_processes(config, BatchRun("r", "/out", (big,)), None) == 2
    # (below PARALLEL_PARSE_BYTES of input, one process parses)
    assert parse_processes(config, BatchRun("r", "/out", (small,)), None) == 1


def test_read_sources_with_two_parse_processes_runs_in_a_pipeline(tmp_path: Path) -> None:
    path = landing(tmp_path)
    config = default_config().with_input(tmp_path)
    files = [InputFile("marketing", str(path), path.stat().st_size, path.stat().st_mtime)] * 2
    with local_pipeline() as p:
        out = p | ReadSources(config, "run_test", files, processes=2)
        assert_that(
            out.events | beam.FlatMap(lambda t: t.column("event_id").to_pylist()),
            equal_to(["e1", "e1"]),
            label="Accepted",
        )
        assert_that(
            out[STATS] | beam.Map(lambda s: (s["input_count"], s["quarantined_count"])),
            equal_to([(5, 4), (5, 4)]),
            label="Counted",
        )


def test_parse_workers_started_ahead_are_taken_over_by_the_read_step(tmp_path: Path) -> None:
    """``parse_workers_ahead`` starts the pool before the pipeline exists; the read step of a
    pipeline run in this process takes it over (the pool of another config it leaves
    alone), and on exit the pool is shut down."""
    path = landing(tmp_path)
    config = default_config().with_input(tmp_path)
    files = [InputFile("marketing", str(path), path.stat().st_size, path.stat().st_mtime)] * 2
    with parse_workers_ahead(config, "run_test", 2):
        pool = read_module._STARTED[("run_test", 2)].pool
        assert read_module._take_started(default_config(), "run_test", 2) is None
        with local_pipeline() as p:
            out = p | ReadSources(config, "run_test", files, processes=2)
            assert_that(
                out.events | beam.FlatMap(lambda t: t.column("event_id").to_pylist()),
                equal_to(["e1", "e1"]),
            )
        assert ("run_test", 2) not in read_module._STARTED  # the read step took it
    with pytest.raises(RuntimeError, match="shutdown"):
        pool.submit(int)
    with parse_workers_ahead(config, "run_test", 1):
        assert not read_module._STARTED  # one process parses in the read step itself


def test_a_pool_that_fails_to_start_fails_where_it_is_taken_over() -> None:
    """Workers are started on a thread of their own: its failure is raised by ``ready()``
    (in the read step, where the runner reports it), not lost on that thread."""
    pool = ProcessPoolExecutor(1)
    pool.shutdown()
    started = read_module._StartedPool(default_config(), pool, 2)
    with pytest.raises(RuntimeError, match="shutdown"):
        started.ready()


def test_canonical_lines_in_bulk_give_what_the_row_path_gives(tmp_path: Path) -> None:
    """Lines are parsed a run at a time; a run with a bad line is parsed again line by line.
    Batches that end inside a run, bad lines at run edges and the file's first line all
    give the same events, quarantine rows and counts as reading every line by itself."""
    from dataclasses import replace

    lines = [json.dumps({**GOOD, "event_id": f"e{i}"}).encode() for i in range(700)]
    for i in (0, 127, 128, 301, 302, 555, 699):
        lines[i] = [b"{truncated", b"", b"[1]", b"\xff not utf-8"][i % 4]
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"\n".join(lines))  # no newline after the last line
    config = default_config().with_input(tmp_path)
    config = replace(config, pipeline=replace(config.pipeline, batch_rows=300))
    parse = ParseSourceFile(config, "run_test")
    parse.setup()
    received = datetime(2025, 1, 2, tzinfo=UTC)
    source = config.sources[0]

    def outputs(values: list) -> tuple:
        values = [getattr(v, "value", v) for v in values]
        stats = [(v["input_count"], v["quarantined_count"]) for v in values if isinstance(v, dict)]
        events = pairs(values, "event_id", "record_hash")
        return events, pairs(values, "reason_code", "location"), stats

    item = InputFile("marketing", str(path), path.stat().st_size, path.stat().st_mtime)
    bulk = outputs(list(parse.parse_canonical(source, item, received, 0, 1)))
    rows = read_canonical_lines(str(path), config.contract.max_raw_bytes)
    one_by_one = outputs(list(parse.parse(source, rows, received, str(path))))
    assert bulk == one_by_one
    assert len(bulk[0]) == 693 and len(bulk[1]) == 6  # the blank line is no record
