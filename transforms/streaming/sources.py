"""Unbounded inputs → event rows stamped with occurred_at, quarantine tables, counts.

Every input ends in the batch job's ``ParseSourceFile.parse``: the same adapters and
the same ``RowContract``, so a record is accepted or quarantined with the same reason
code whether a batch run or the stream reads it.

- **Pub/Sub** (``ReadFromPubSub``, one subscription per configured source): one message
  is one record of that source (a canonical event, a Segment message, a mapped row);
  its event time comes from the ``timestamp_attribute`` the publisher sets.
- **Kafka** (``ReadFromKafka``, a cross-language transform that needs a Java expansion
  service at pipeline construction): one record value is one record of the source.
- **Local folder** (``ReadLandingFeed``): the local runner has no unbounded source with
  an event-time watermark (an SDF watcher's watermark is held or ignored by both local
  runners), so ``journeyline.stream_feed`` watches the landing folders, parses new files
  and serves them as a live ``TestStream`` (Beam's TestStreamService): elements stamped
  with occurred_at, the watermark advanced after each poll. The streaming DirectRunner
  then runs this very graph with real watermarks, timers and lateness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.kafka import ReadFromKafka
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.trigger import AccumulationMode, AfterProcessingTime, Repeatedly
from apache_beam.transforms.window import GlobalWindows

from journeyline.config import Config, SourceConfig
from transforms.adapters import records_from_rows, row_mapper
from transforms.adapters.rows import json_record
from transforms.read import QUARANTINE, STATS, ParseSourceFile
from transforms.records import RawRecord
from transforms.streaming.events import timestamped

FEED = "feed"
EVENT, QUARANTINED, COUNTED, CLOSED = "event", "quarantine", "stats", "close"


def message_records(config: Config, source: SourceConfig, payload: bytes, location: str) -> list:
    """The records of one message: the JSON value, mapped unless the source is canonical."""
    record = json_record(payload, location, config.contract.max_raw_bytes)
    if source.format == "canonical":
        return [record]
    return list(records_from_rows([record], row_mapper(config, source)))


class ParseMessages(ParseSourceFile):
    """Messages of one source (Pub/Sub messages or Kafka values) → event tables (main),
    quarantine tables and a count record per message, through the shared contract."""

    def __init__(self, config: Config, run_id: str, source: str, origin: str) -> None:
        super().__init__(config, run_id)
        self.source_name = source
        self.origin = origin

    def process(self, message: Any) -> Iterator[Any]:
        payload, location, received = self._unpack(message)
        source = self.sources[self.source_name]
        records: list[RawRecord] = message_records(self.config, source, payload, location)
        yield from self.parse(source, records, received, location)

    def _unpack(self, message: Any) -> tuple[bytes, str, datetime]:
        now = datetime.now(UTC).replace(microsecond=0)
        if isinstance(message, tuple):  # Kafka (key, value)
            return message[1] or b"", f"{self.origin}", now
        if isinstance(message, bytes):
            return message, self.origin, now
        published = getattr(message, "publish_time", None)
        received = published.astimezone(UTC) if isinstance(published, datetime) else now
        return message.data, f"{self.origin}:{message.message_id or ''}", received


def read_pubsub(subscription: str, timestamp_attribute: str | None) -> beam.PTransform:
    """Beam's native ReadFromPubSub for one subscription, stamped by the event-time attribute."""
    return beam.io.ReadFromPubSub(
        subscription=subscription, with_attributes=True, timestamp_attribute=timestamp_attribute
    )


def read_kafka(servers: str, topic: str, expansion_service: str | None = None) -> beam.PTransform:
    """Beam's ReadFromKafka for one topic, stamped with the record's create time. It is a
    cross-language transform: building it starts Beam's Java expansion service (Java and
    the expansion-service jar from Maven) unless ``expansion_service`` names a running one."""
    extra = {"expansion_service": expansion_service} if expansion_service else {}
    return ReadFromKafka(
        consumer_config={"bootstrap.servers": servers, "auto.offset.reset": "earliest"},
        topics=[topic],
        timestamp_policy=ReadFromKafka.create_time_policy,
        **extra,
    )


def payload_text(message: Any) -> str:
    """A message's payload as one line of text (what the archive keeps)."""
    data = message[1] if isinstance(message, tuple) else getattr(message, "data", message)
    return (data or b"").decode("utf-8", errors="replace").replace("\n", " ")


class _WriteArchive(beam.DoFn):
    """One firing's payloads → ``<folder>/<prefix>-<content hash>.jsonl`` (a retried
    firing rewrites the same file)."""

    def __init__(self, folder: str, prefix: str) -> None:
        self.folder = folder
        self.prefix = prefix

    def process(self, element: tuple[str, Iterable[str]]) -> Iterator[str]:
        _, payloads = element
        data = "".join(f"{line}\n" for line in payloads).encode()
        name = hashlib.blake2b(data, digest_size=10).hexdigest()
        if not FileSystems.exists(self.folder):
            FileSystems.mkdirs(self.folder)
        path = f"{self.folder}/{self.prefix}-{name}.jsonl"
        with FileSystems.create(path) as handle:
            handle.write(data)
        yield path


class ArchiveMessages(beam.PTransform):
    """Raw messages → ``<folder>/<prefix>-….jsonl`` every ``seconds`` of processing time, so
    the batch job (the system of record) reads every message the stream saw: a source read
    from Pub/Sub or Kafka points its batch ``location`` at this folder. Global window and a
    processing-time trigger: late data is never dropped on the way to the archive."""

    def __init__(self, folder: str, prefix: str, seconds: int = 60) -> None:
        super().__init__()
        self.folder = folder
        self.prefix = prefix
        self.seconds = seconds

    def expand(self, messages: beam.PCollection) -> beam.PCollection:
        return (
            messages
            | "Payload" >> beam.Map(lambda m: (self.prefix, payload_text(m)))
            | "EveryMinute"
            >> beam.WindowInto(
                GlobalWindows(),
                trigger=Repeatedly(AfterProcessingTime(self.seconds)),
                accumulation_mode=AccumulationMode.DISCARDING,
            )
            | "Collect" >> beam.GroupByKey()
            | "WriteFiles" >> beam.ParDo(_WriteArchive(self.folder, self.prefix))
        )


class ReadMessageSources(beam.PTransform):
    """Each configured subscription (``pubsub``) or topic (``kafka``) → its source's events
    (stamped with occurred_at), quarantine tables and counts; the raw messages are archived
    under ``<archive>/<source>/`` for the batch job."""

    def __init__(self, config: Config, run_id: str, archive: str) -> None:
        super().__init__()
        self.config = config
        self.run_id = run_id
        self.archive = archive

    def _reader(self, where: str) -> beam.PTransform:
        streaming = self.config.streaming
        if streaming.input == "kafka":
            return read_kafka(
                streaming.kafka_bootstrap_servers or "", where, streaming.kafka_expansion_service
            )
        return read_pubsub(where, streaming.pubsub_timestamp_attribute)

    def expand(self, pbegin: beam.pvalue.PBegin) -> dict[str, beam.PCollection]:
        streaming = self.config.streaming
        kind = streaming.input
        inputs = streaming.kafka_topics if kind == "kafka" else streaming.pubsub_subscriptions
        parts = []
        for name, where in sorted(inputs.items()):
            parse = ParseMessages(self.config, self.run_id, name, f"{kind}:{where}")
            messages = pbegin | f"Read[{name}]" >> self._reader(where)
            folder = f"{self.archive}/{name}"
            _ = messages | f"Archive[{name}]" >> ArchiveMessages(folder, self.run_id)
            parsed = messages | f"Parse[{name}]" >> beam.ParDo(parse).with_outputs(
                QUARANTINE, STATS, main="events"
            )
            parts.append(
                {
                    "events": parsed["events"] | f"Stamp[{name}]" >> beam.FlatMap(timestamped),
                    QUARANTINE: parsed[QUARANTINE],
                    STATS: parsed[STATS],
                }
            )
        return {
            tag: tuple(part[tag] for part in parts) | f"All[{tag}]" >> beam.Flatten()
            for tag in ("events", QUARANTINE, STATS)
        }


class _Demux(beam.DoFn):
    """Feed elements (kind, value) → events (with close markers) / quarantine / counts."""

    def process(self, element: tuple[str, Any]) -> Iterator[Any]:
        kind, value = element
        if kind in (EVENT, CLOSED):
            yield value
        elif kind == QUARANTINED:
            yield beam.pvalue.TaggedOutput(QUARANTINE, value)
        else:
            yield beam.pvalue.TaggedOutput(STATS, value)


class ReadLandingFeed(beam.PTransform):
    """The live feed of the watched landing folders (served at ``endpoint``)."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.endpoint = endpoint

    def expand(self, pbegin: beam.pvalue.PBegin) -> dict[str, beam.PCollection]:
        feed = pbegin | "Feed" >> TestStream(
            coder=PickleCoder(), endpoint=self.endpoint, output_tags=[FEED]
        )
        parts = feed[FEED] | "Demux" >> beam.ParDo(_Demux()).with_outputs(
            QUARANTINE, STATS, main="events"
        )
        return {"events": parts["events"], QUARANTINE: parts[QUARANTINE], STATS: parts[STATS]}
