"""Writing the timeline: one sorted file per day, the same bytes on every run."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.testing.util import assert_that, equal_to

from journeyline.schema import TIMELINE_SCHEMA
from tests.transforms.beam_helpers import local_pipeline
from transforms.sinks import WriteTimeline, read_parquet, write_day

DAYS = [dt.date(2025, 3, d) for d in (1, 2, 5)]


def _timeline(seed: int) -> pa.Table:
    """Rows of a few customers over three days, in no particular order."""
    rng = random.Random(seed)
    rows = []
    for customer in range(6):
        for seq in range(1, 9):
            day = rng.choice(DAYS)
            at = dt.datetime.combine(day, dt.time(rng.randrange(24)), tzinfo=dt.UTC)
            rows.append(
                {
                    "event_id": f"e{customer}-{seq}",
                    "customer_id": f"c{customer}",
                    "event_seq": seq,
                    "source": "web",
                    "stream": "marketing",
                    "event_type": "page_viewed",
                    "occurred_at": at,
                    "received_at": at,
                    "identifiers": [("anonymous_id", f"a{customer}")],
                    "lifecycle_stage": "visitor",
                    "stage_changed": seq == 1,
                    "event_date": day,
                }
            )
    rng.shuffle(rows)
    return pa.Table.from_pylist(rows, TIMELINE_SCHEMA)


def _write(folder: Path, table: pa.Table) -> None:
    carried_day = (DAYS[0] - dt.date(1970, 1, 1)).days
    carried = table.filter(pc.equal(table.column("event_date"), DAYS[0]))
    rest = table.filter(pc.not_equal(table.column("event_date"), DAYS[0]))
    half = rest.num_rows // 2
    with local_pipeline() as p:
        tables = p | "Tables" >> beam.Create([rest.slice(0, half), rest.slice(half)])
        old = p | "Carried" >> beam.Create([(carried_day, carried)])
        paths = {"tables": tables, "carried": old} | WriteTimeline(str(folder), TIMELINE_SCHEMA)
        expected = [f"{folder}/event_date={day.isoformat()}/part-0.parquet" for day in DAYS]
        assert_that(paths, equal_to(expected))


def test_one_file_per_day_sorted_by_customer_and_seq_with_every_row(tmp_path: Path) -> None:
    table = _timeline(1)
    _write(tmp_path / "a", table)
    written = []
    for day in DAYS:
        part = pq.read_table(tmp_path / "a" / f"event_date={day.isoformat()}" / "part-0.parquet")
        keys = list(
            zip(part["customer_id"].to_pylist(), part["event_seq"].to_pylist(), strict=True)
        )
        assert keys == sorted(keys)
        assert set(part["event_date"].to_pylist()) == {day}
        written.append(part)
    everything = pa.concat_tables(written).sort_by("event_id")
    assert everything.equals(table.sort_by("event_id"))


def test_the_same_rows_in_another_order_give_the_same_bytes(tmp_path: Path) -> None:
    table = _timeline(2)
    _write(tmp_path / "a", table)
    _write(tmp_path / "b", table.take(list(reversed(range(table.num_rows)))))
    for day in DAYS:
        name = f"event_date={day.isoformat()}/part-0.parquet"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_day_files_keep_dictionaries_for_repeating_values_and_statistics_for_filters(
    tmp_path: Path,
) -> None:
    """Dictionary pages only where a day's values repeat (event types, sources, stages, …);
    min/max statistics on every column but the identifier map and the properties JSON."""
    _write(tmp_path, _timeline(3))
    meta = pq.ParquetFile(tmp_path / f"event_date={DAYS[1].isoformat()}" / "part-0.parquet")
    group = meta.metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    dictionary = {path for path, c in columns.items() if c.has_dictionary_page}
    assert {"event_type", "source", "stream", "lifecycle_stage"} <= dictionary
    assert not dictionary & {"event_id", "customer_id", "occurred_at", "properties"}
    assert not any("identifiers" in path for path in dictionary)
    unstated = {path for path, c in columns.items() if not c.is_stats_set}
    assert {"properties"} | {p for p in columns if p.startswith("identifiers.")} == unstated


def test_a_lake_file_reads_back_as_written_whole_or_by_column(tmp_path: Path) -> None:
    table = _timeline(seed=5)
    path = write_day((0, [table.slice(0, 20), table.slice(20)]), str(tmp_path), TIMELINE_SCHEMA)
    whole = read_parquet(path)
    assert whole.equals(pq.read_table(path))
    assert whole.schema.equals(TIMELINE_SCHEMA) and whole.num_rows == table.num_rows
    assert whole.sort_by("event_id").equals(table.sort_by("event_id"))
    ids = read_parquet(path, columns=["event_id"])
    assert ids.column_names == ["event_id"] and ids.equals(
        pq.read_table(path, columns=["event_id"])
    )
