"""The `streaming:` and `alerts:` blocks of journeyline.yml: their shape and typed config.

`streaming:` says where `journeyline stream` reads (a watched landing folder, Pub/Sub
subscriptions or Kafka topics, per configured source), how event time is windowed
(window, allowed lateness, the folder watermark's delay) and where it writes.
`alerts:` holds the close-the-loop rules of SPEC §7 as data: thresholds and the event
types that count as a touch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from journeyline.config.validate import Bool, ConfigError, ListOf, MapOf, Num, Obj, Str

INPUTS = ("folder", "pubsub", "kafka")
_NAME = r"[a-z][a-z0-9_]*"
# Pub/Sub's own naming rules (as Beam checks them), so a bad name fails at load time.
_PROJECT = r"projects/[a-z][-a-z0-9:.]{4,61}[a-z0-9]"
_SUBSCRIPTION = _PROJECT + r"/subscriptions/[a-zA-Z][-._~%+a-zA-Z0-9]{2,254}"
_TOPIC = _PROJECT + r"/topics/[a-zA-Z][-._~%+a-zA-Z0-9]{2,254}"
_MICROS_PER_MINUTE = 60_000_000

STREAMING = Obj(
    {
        "input": Str(choices=INPUTS),
        "output": Str(example="a folder (or gs:// path), e.g. data/lake/stream"),
        "window_minutes": Num(minimum=1, maximum=7 * 24 * 60),
        "allowed_lateness_hours": Num(minimum=0),
        "watermark_delay_minutes": Num(minimum=0),
        "poll_seconds": Num(minimum=0.05, maximum=3600),
        "pubsub": Obj(
            {
                "subscriptions": MapOf(
                    Str(
                        pattern=_SUBSCRIPTION,
                        example="projects/my-project/subscriptions/sales-events",
                    ),
                    key=Str(pattern=_NAME),
                ),
                "timestamp_attribute": Str(pattern=r"[A-Za-z0-9_\-.]+"),
                "alerts_topic": Str(pattern=_TOPIC, example="projects/my-project/topics/alerts"),
            }
        ),
        "kafka": Obj(
            {
                "bootstrap_servers": Str(example="host:9092[,host:9092]"),
                "topics": MapOf(Str(), key=Str(pattern=_NAME)),
                "expansion_service": Str(example="host:port of a running expansion service"),
            }
        ),
        "bigquery_dataset": Str(
            pattern=r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_]+", example="project.dataset"
        ),
    }
)

_TOUCHES = ListOf(Str(pattern=_NAME), min_items=1)
ALERTS = Obj(
    {
        "lead_followup_breach": Obj(
            {
                "enabled": Bool(),
                "sla_hours": Num(minimum=0),
                "touch_event_types": _TOUCHES,
            }
        ),
        "detractor": Obj(
            {
                "enabled": Bool(),
                "nps_max": Num(minimum=0, maximum=10),
                "csat_max": Num(minimum=1, maximum=5),
                "escalate_after_hours": Num(minimum=0),
                "touch_event_types": _TOUCHES,
            }
        ),
        "post_purchase_friction": Obj(
            {
                "enabled": Bool(),
                "within_days": Num(minimum=0),
                "ticket_event_types": _TOUCHES,
            }
        ),
        "repeat_contact": Obj(
            {
                "enabled": Bool(),
                "tickets": Num(minimum=2, integer=True),
                "within_days": Num(minimum=0),
                "ticket_event_types": _TOUCHES,
            }
        ),
    }
)


@dataclass(frozen=True)
class StreamingConfig:
    """How `journeyline stream` reads, windows event time and writes."""

    input: str
    output: str
    window_minutes: float
    allowed_lateness_hours: float
    watermark_delay_minutes: float
    poll_seconds: float
    pubsub_subscriptions: dict[str, str]
    pubsub_timestamp_attribute: str | None
    alerts_topic: str | None
    kafka_bootstrap_servers: str | None
    kafka_topics: dict[str, str]
    kafka_expansion_service: str | None
    bigquery_dataset: str | None

    @property
    def window_us(self) -> int:
        return int(self.window_minutes * _MICROS_PER_MINUTE)

    @property
    def lateness_us(self) -> int:
        return int(self.allowed_lateness_hours * 60 * _MICROS_PER_MINUTE)

    @property
    def delay_us(self) -> int:
        return int(self.watermark_delay_minutes * _MICROS_PER_MINUTE)


@dataclass(frozen=True)
class FollowupRule:
    enabled: bool
    sla_hours: float
    touch_event_types: frozenset[str]


@dataclass(frozen=True)
class DetractorRule:
    enabled: bool
    nps_max: float
    csat_max: float
    escalate_after_hours: float
    touch_event_types: frozenset[str]


@dataclass(frozen=True)
class FrictionRule:
    enabled: bool
    within_days: float
    ticket_event_types: frozenset[str]


@dataclass(frozen=True)
class RepeatContactRule:
    enabled: bool
    tickets: int
    within_days: float
    ticket_event_types: frozenset[str]


@dataclass(frozen=True)
class AlertsConfig:
    """The close-the-loop alerts of SPEC §7, each with its thresholds."""

    lead_followup_breach: FollowupRule
    detractor: DetractorRule
    post_purchase_friction: FrictionRule
    repeat_contact: RepeatContactRule


def _types(rule: dict[str, Any], key: str) -> frozenset[str]:
    return frozenset(rule[key])


def build_alerts(data: dict[str, Any]) -> AlertsConfig:
    """The typed alert rules from the validated, merged `alerts:` block."""
    lead, det = data["lead_followup_breach"], data["detractor"]
    fric, rep = data["post_purchase_friction"], data["repeat_contact"]
    return AlertsConfig(
        lead_followup_breach=FollowupRule(
            lead["enabled"], float(lead["sla_hours"]), _types(lead, "touch_event_types")
        ),
        detractor=DetractorRule(
            det["enabled"],
            float(det["nps_max"]),
            float(det["csat_max"]),
            float(det["escalate_after_hours"]),
            _types(det, "touch_event_types"),
        ),
        post_purchase_friction=FrictionRule(
            fric["enabled"], float(fric["within_days"]), _types(fric, "ticket_event_types")
        ),
        repeat_contact=RepeatContactRule(
            rep["enabled"],
            int(rep["tickets"]),
            float(rep["within_days"]),
            _types(rep, "ticket_event_types"),
        ),
    )


def build_streaming(
    data: dict[str, Any], lake: str, resolve: Callable[[str], str]
) -> StreamingConfig:
    """The typed streaming config; ``output`` defaults to ``<lake>/stream``."""
    pubsub = data.get("pubsub", {})
    kafka = data.get("kafka", {})
    output = resolve(data["output"]) if data.get("output") else f"{lake.rstrip('/')}/stream"
    return StreamingConfig(
        input=data["input"],
        output=output,
        window_minutes=float(data["window_minutes"]),
        allowed_lateness_hours=float(data["allowed_lateness_hours"]),
        watermark_delay_minutes=float(data["watermark_delay_minutes"]),
        poll_seconds=float(data["poll_seconds"]),
        pubsub_subscriptions=dict(pubsub.get("subscriptions", {})),
        pubsub_timestamp_attribute=pubsub.get("timestamp_attribute"),
        alerts_topic=pubsub.get("alerts_topic"),
        kafka_bootstrap_servers=kafka.get("bootstrap_servers"),
        kafka_topics=dict(kafka.get("topics", {})),
        kafka_expansion_service=kafka.get("expansion_service"),
        bigquery_dataset=data.get("bigquery_dataset"),
    )


def check_streaming(data: dict[str, Any], vocab: set[str], origin: str) -> None:
    """Cross-section rules: message inputs name configured sources; alert types exist."""
    sources = {s["name"] for s in data["sources"]}
    streaming = data["streaming"]
    for kind, names in (
        ("pubsub.subscriptions", streaming.get("pubsub", {}).get("subscriptions", {})),
        ("kafka.topics", streaming.get("kafka", {}).get("topics", {})),
    ):
        for name in names:
            if name not in sources:
                raise ConfigError(
                    origin,
                    None,
                    f"'streaming.{kind}' names {name!r}, which is not a configured source",
                    "use one of: " + ", ".join(sorted(sources)),
                )
    needs = {
        "pubsub": ("pubsub.subscriptions", streaming.get("pubsub", {}).get("subscriptions")),
        "kafka": ("kafka.topics", streaming.get("kafka", {}).get("topics")),
    }
    if streaming["input"] in needs:
        key, value = needs[streaming["input"]]
        if not value:
            raise ConfigError(
                origin,
                None,
                f"'streaming.input' is {streaming['input']!r} but 'streaming.{key}' is empty",
                f"map each source to read to its {key.split('.')[1][:-1]}",
            )
    if streaming["input"] == "kafka" and not streaming.get("kafka", {}).get("bootstrap_servers"):
        raise ConfigError(
            origin,
            None,
            "'streaming.input' is 'kafka' but 'streaming.kafka.bootstrap_servers' is missing",
            "add 'bootstrap_servers: host:9092'",
        )
    for rule, block in data["alerts"].items():
        for key, types in block.items():
            if not key.endswith("event_types"):
                continue
            for event_type in types:
                if event_type not in vocab:
                    raise ConfigError(
                        origin,
                        None,
                        f"'alerts.{rule}.{key}' names {event_type!r}, which no stream knows",
                        "add it under contract.custom_event_types or fix the spelling",
                    )
