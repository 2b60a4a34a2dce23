"""The streaming graph for the cloud: Pub/Sub on Dataflow (dry run), Kafka wiring, messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import apache_beam as beam
import orjson
import pyarrow as pa
import pytest
from apache_beam.coders import PickleCoder
from apache_beam.io.gcp.pubsub import PubsubMessage
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.testing.test_stream import TestStream as EventStream

from journeyline.config import Config, default_config
from journeyline.errors import PipelineError
from journeyline.privacy import hasher_for
from journeyline.progress import Progress
from journeyline.stream import run_stream
from pipelines.streaming import StreamRun, bigquery_schema, build_stream_pipeline
from transforms.read import QUARANTINE, STATS
from transforms.streaming import sources
from transforms.streaming.advance import REVISION_SCHEMA
from transforms.streaming.sources import ArchiveMessages, ParseMessages

PROJECT = "journeyline-test"
SETUP = str(Path(__file__).resolve().parents[2] / "setup.py")


def cloud_config(**streaming: Any) -> Config:
    config = default_config()
    subscriptions = {
        s.name: f"projects/{PROJECT}/subscriptions/{s.name}-events" for s in config.sources
    }
    settings = {
        "input": "pubsub",
        "pubsub_subscriptions": subscriptions,
        "alerts_topic": f"projects/{PROJECT}/topics/journeyline-alerts",
        "bigquery_dataset": f"{PROJECT}.journeyline_lake",
        "output": "gs://journeyline-test/stream",
        **streaming,
    }
    return replace(config, streaming=replace(config.streaming, **settings))


def test_the_pubsub_graph_builds_for_dataflow_in_dry_run() -> None:
    options = PipelineOptions(
        [
            "--runner=DataflowRunner",
            "--dry_run=True",
            f"--setup_file={SETUP}",
            f"--project={PROJECT}",
            "--region=europe-west1",
            "--temp_location=gs://journeyline-test/tmp",
            "--streaming",
        ]
    )
    config = cloud_config()
    run = StreamRun("stream_test", config.streaming.output)
    result = build_stream_pipeline(config, run, options).run()
    transforms = result.job.proto_pipeline.components.transforms.values()
    reads = {
        beam_runner_api_pb2.PubSubReadPayload.FromString(t.spec.payload).subscription: t
        for t in transforms
        if t.spec.urn == "beam:transform:pubsub_read:v1"
    }
    assert set(reads) == set(config.streaming.pubsub_subscriptions.values())
    for read in reads.values():
        payload = beam_runner_api_pb2.PubSubReadPayload.FromString(read.spec.payload)
        assert payload.timestamp_attribute == "occurred_at" and payload.with_attributes
    names = {t.unique_name for t in transforms}
    assert {"StreamJourneys/AdvanceJourneys", "WriteLate", "WriteQuarantine"} <= names
    assert {"WriteBigQuery[timeline]", "WriteBigQuery[alerts]", "PublishAlerts"} <= names
    assert "WriteTimeline" not in names  # BigQuery replaces the Parquet revisions
    for source in config.streaming.pubsub_subscriptions:  # every message kept for batch
        assert f"Read[pubsub]/Archive[{source}]/WriteFiles" in names
    urns = {t.spec.urn for t in transforms}
    assert "beam:transform:pubsub_write:v1" in urns


class FakeKafka(beam.PTransform):
    """Stands in for ReadFromKafka, whose expansion needs Java (not available offline)."""

    create_time_policy = "CreateTime"
    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        FakeKafka.calls.append(kwargs)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return pbegin | beam.Create([(b"k", b"{}")])


def test_kafka_topics_are_read_per_source_with_event_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "ReadFromKafka", FakeKafka)
    FakeKafka.calls.clear()
    config = cloud_config(
        input="kafka",
        kafka_bootstrap_servers="kafka-1:9092",
        kafka_topics={"sales": "crm.sales", "service": "zendesk.events"},
        kafka_expansion_service="localhost:8097",
        bigquery_dataset=None,
        alerts_topic=None,
    )
    pipeline = build_stream_pipeline(
        config, StreamRun("stream_test", "/tmp/unused"), PipelineOptions(["--streaming"])
    )
    assert sorted(c["topics"][0] for c in FakeKafka.calls) == ["crm.sales", "zendesk.events"]
    assert {c["consumer_config"]["bootstrap.servers"] for c in FakeKafka.calls} == {"kafka-1:9092"}
    assert {c["timestamp_policy"] for c in FakeKafka.calls} == {"CreateTime"}
    assert {c["expansion_service"] for c in FakeKafka.calls} == {"localhost:8097"}
    labels = {t.full_label for t in pipeline.transforms_stack[0].parts[0].parts}
    assert {"Read[kafka]/Parse[sales]", "Read[kafka]/Parse[service]"} <= labels


def test_without_java_kafka_fails_with_a_clear_error(tmp_path: Path) -> None:
    config = cloud_config(
        input="kafka", kafka_bootstrap_servers="kafka-1:9092", kafka_topics={"sales": "crm.sales"}
    )
    config = replace(
        config.with_paths(lake=str(tmp_path / "lake")),
        streaming=replace(
            config.streaming,
            output=str(tmp_path / "stream"),
            bigquery_dataset=None,
            alerts_topic=None,
        ),
    )
    with pytest.raises(PipelineError, match="ReadFromKafka is a Java transform"):
        run_stream(config, [], Progress(total_steps=1, quiet=True))


def test_messages_go_through_the_shared_contract() -> None:
    """Normalised, hashed like a batch row, quarantined (redacted) with a reason, counted."""
    parse = ParseMessages(default_config(), "stream_test", "sales", "pubsub:sales-events")
    parse.setup()
    good = {
        "event_id": "e1",
        "event_type": "sales_contacted",
        "occurred_at": "2025-03-01T10:00:00Z",
        "identifiers": {"email": " A@X.co "},
    }
    published = datetime(2025, 3, 1, 10, 0, 5, tzinfo=UTC)
    outputs = list(parse.process(PubsubMessage(orjson.dumps(good), {}, "m-1", published)))
    bad = b"{not json, from Bob@X.example"
    outputs += list(parse.process(PubsubMessage(bad, {}, "m-2", published)))
    tables = [o for o in outputs if isinstance(o, pa.Table)]
    rows = pa.concat_tables(tables).to_pylist()
    hasher = hasher_for(default_config().privacy)
    assert hasher is not None  # tests/conftest.py sets the key: identifiers are hashed
    assert [(r["event_id"], r["stream"], r["identifiers"]) for r in rows] == [
        ("e1", "sales", [("email", hasher.value("email", "a@x.co"))])
    ]
    assert rows[0]["received_at"] == published
    quarantined = [o.value for o in outputs if getattr(o, "tag", None) == QUARANTINE]
    assert [
        (q["reason_code"], q["location"], q["raw"])
        for q in pa.concat_tables(quarantined).to_pylist()
    ] == [  # redacted as a batch run's quarantine is: no clear e-mail leaves the stream
        (
            "malformed_json",
            "pubsub:sales-events:m-2",
            bad.decode().replace("Bob@X.example", hasher.value("email", "bob@x.example")),
        )
    ]
    stats = [o.value for o in outputs if getattr(o, "tag", None) == STATS]
    assert sum(s["input_count"] for s in stats) == 2


def test_bigquery_schema_follows_the_arrow_schema() -> None:
    schema = bigquery_schema(REVISION_SCHEMA)
    assert "occurred_at:TIMESTAMP" in schema and "amount:NUMERIC" in schema
    assert "event_seq:INT64" in schema and "identifiers:STRING" in schema


def test_archived_messages_are_lines_the_batch_job_reads(tmp_path: Path) -> None:
    events = [{"event_id": f"e{i}", "event_type": "sales_contacted"} for i in range(3)]
    messages = [PubsubMessage(orjson.dumps(e), {}, f"m{i}", None) for i, e in enumerate(events)]
    stream = (
        EventStream(coder=PickleCoder())
        .add_elements(messages[:2])
        .advance_processing_time(61)
        .add_elements(messages[2:])
        .advance_processing_time(61)
        .advance_watermark_to_infinity()
    )
    with beam.Pipeline(options=PipelineOptions(["--streaming"])) as p:
        _ = p | stream | ArchiveMessages(str(tmp_path / "sales"), "stream_test")
    files = sorted((tmp_path / "sales").glob("stream_test-*.jsonl"))
    lines = [line for path in files for line in path.read_bytes().splitlines()]
    assert sorted(orjson.loads(line)["event_id"] for line in lines) == ["e0", "e1", "e2"]
