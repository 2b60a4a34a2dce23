"""BigQuery tables as batch sources: the graph builds, and BigQuery rows map like file rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from journeyline.config import Config
from pipelines.batch import BatchRun, build_batch_pipeline
from tests.transforms.adapters.adapter_helpers import source_config, with_source
from tests.transforms.beam_helpers import local_pipeline
from transforms.adapters.bigquery import bigquery_tables
from transforms.read import QUARANTINE, STATS, ParseBigQueryRows

LOCATION = "bigquery://acme-prod.fivetran_zendesk"


def config() -> Config:
    tables = {"ticket": "ticket", "ticket_comment": "ticket_comment"}
    source = replace(source_config("zendesk", Path("."), tables=tables), location=LOCATION)
    return with_source(source)


def test_a_bigquery_source_builds_a_pipeline_graph() -> None:
    cfg = config()
    assert [ref for _, _, ref in bigquery_tables(cfg)] == [
        "acme-prod.fivetran_zendesk.ticket",
        "acme-prod.fivetran_zendesk.ticket_comment",
    ]
    run = BatchRun("run_bq", "/tmp/unused", ())
    pipeline = build_batch_pipeline(cfg, run, PipelineOptions(["--project=acme-prod"]))
    labels = {node.full_label for node in _walk(pipeline._root_transform())}
    assert "ReadSources/ReadBigQuery[zendesk:acme-prod.fivetran_zendesk.ticket]" in labels
    assert "ReadSources/ParseRows[zendesk:acme-prod.fivetran_zendesk.ticket_comment]" in labels


def _walk(node):
    yield node
    for part in node.parts:
        yield from _walk(part)


def test_bigquery_rows_map_through_the_connector_and_the_contract() -> None:
    cfg = config()
    received = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {  # typed values as ReadFromBigQuery gives them
            "id": 16988,
            "created_at": datetime(2020, 12, 22, 0, 19, 23, tzinfo=UTC),
            "requester_id": 1500656884401,
            "organization_id": None,
            "status": "solved",
            "via_channel": "email",
            "subject": "printer on fire",
        },
        {"id": 1595, "created_at": None, "requester_id": 1, "status": "open"},  # no time
        {"id": 11071, "status": "deleted"},  # skipped by the mapping's filter
    ]
    parse = ParseBigQueryRows(cfg, "run_bq", "zendesk", "ticket", "p.d.ticket", received)
    with local_pipeline() as p:
        out = (
            p
            | beam.Create([rows])
            | beam.ParDo(parse).with_outputs(QUARANTINE, STATS, main="events")
        )
        assert_that(
            out.events
            | beam.FlatMap(
                lambda t: zip(
                    t.column("event_id").to_pylist(),
                    t.column("channel").to_pylist(),
                    [dict(i) for i in t.column("identifiers").to_pylist()],
                    strict=True,
                )
            )
            | beam.Map(lambda r: (r[0], r[1], r[2]["ticket_requester_id"])),
            equal_to([("zendesk-ticket-16988-opened", "email", "zendesk:1500656884401")]),
            label="Events",
        )
        assert_that(
            out[QUARANTINE] | beam.FlatMap(lambda t: t.column("reason_code").to_pylist()),
            equal_to(["missing_required_field"]),
            label="Quarantine",
        )
        assert_that(
            out[STATS]
            | beam.Map(
                lambda s: (
                    s["source_rows"],
                    s["skipped_rows"],
                    s["input_count"],
                    s["quarantined_count"],
                )
            ),
            equal_to([(3, 1, 2, 1)]),
            label="Counts",
        )
