"""The canonical event and the warehouse contract (SPEC §2, §6) as Arrow schemas.

Every layer imports its field names and types from here so that the adapters,
the Beam transforms, the lake and the dbt sources cannot drift apart.
"""

from __future__ import annotations

import pyarrow as pa

STREAMS: tuple[str, ...] = ("marketing", "sales", "service")

EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "marketing": (
        "ad_clicked",
        "email_sent",
        "email_opened",
        "email_clicked",
        "page_viewed",
        "content_downloaded",
        "form_submitted",
        "webinar_registered",
        "webinar_attended",
        "event_attended",
        "mql_reached",
    ),
    "sales": (
        "lead_created",
        "sales_contacted",
        "meeting_held",
        "sal_accepted",
        "opportunity_created",
        "opportunity_stage_changed",
        "proposal_sent",
        "deal_won",
        "deal_lost",
    ),
    "service": (
        "onboarding_started",
        "onboarding_completed",
        "ticket_opened",
        "ticket_replied",
        "ticket_resolved",
        "ticket_reopened",
        "survey_answered",
        "renewal",
        "churned",
        "referral_made",
        "review_posted",
    ),
}

IDENTIFIER_TYPES: tuple[str, ...] = (
    "anonymous_id",
    "user_id",
    "email",
    "phone",
    "lead_id",
    "contact_id",
    "ticket_requester_id",
)
# Identifiers that name a person who told us who they are (SPEC §5 "known identifier").
ANONYMOUS_IDENTIFIER_TYPES: frozenset[str] = frozenset({"anonymous_id"})

SURVEY_RANGES: dict[str, tuple[float, float]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

STAGES: tuple[str, ...] = ("visitor", "lead", "mql", "sal", "sql", "customer", "advocate")
OUTCOMES: tuple[str, ...] = ("lost", "churned")

TIMESTAMP = pa.timestamp("us", tz="UTC")
AMOUNT = pa.decimal128(18, 2)
IDENTIFIERS = pa.map_(pa.string(), pa.string())

# The canonical event as it moves between steps (SPEC §2).
CANONICAL_FIELDS: list[pa.Field] = [
    pa.field("event_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("stream", pa.string(), nullable=False),
    pa.field("event_type", pa.string(), nullable=False),
    pa.field("occurred_at", TIMESTAMP, nullable=False),
    pa.field("received_at", TIMESTAMP, nullable=False),
    pa.field("identifiers", IDENTIFIERS, nullable=False),
    pa.field("account_id", pa.string()),
    pa.field("channel", pa.string()),
    pa.field("campaign_id", pa.string()),
    pa.field("message_theme", pa.string()),
    pa.field("amount", AMOUNT),
    pa.field("currency", pa.string()),
    pa.field("score", pa.float64()),
    pa.field("survey_type", pa.string()),
    pa.field("properties", pa.string()),
]
CANONICAL_SCHEMA = pa.schema(CANONICAL_FIELDS)

# In flight only: which configured input a record came from, and a content hash
# that breaks ties deterministically when two records share an event_id.
INGEST_FIELDS: list[pa.Field] = [
    pa.field("input_source", pa.string(), nullable=False),
    pa.field("record_hash", pa.uint64(), nullable=False),
]
# Kept in the lake timeline: the input file (or table) an event was read from, so a window
# re-run or an erasure can take out exactly what that input gave (journeyline/windows.py).
PROVENANCE_FIELD = pa.field("input_file", pa.string())
EVENT_SCHEMA = pa.schema([*CANONICAL_FIELDS, *INGEST_FIELDS, PROVENANCE_FIELD])

# The order of a customer's events (SPEC §5: event_seq numbers them in it). Incremental
# runs rely on it too: a customer's earlier rows before its first new event keep their place.
TIMELINE_ORDER = [
    ("customer_id", "ascending"),
    ("occurred_at", "ascending"),
    ("event_id", "ascending"),
]
TIMELINE_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("event_seq", pa.int64(), nullable=False),
        *CANONICAL_FIELDS[1:],
        pa.field("lifecycle_stage", pa.string(), nullable=False),
        pa.field("stage_changed", pa.bool_(), nullable=False),
        pa.field("event_date", pa.date32(), nullable=False),
        PROVENANCE_FIELD,
    ]
)

# One row per identifier: the published identity_map and, with its graph columns, the
# identity state the next incremental run starts from.
IDENTITY_MAP_SCHEMA = pa.schema(
    [
        pa.field("identifier_type", pa.string(), nullable=False),
        pa.field("identifier_value", pa.string(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("first_seen_at", TIMESTAMP, nullable=False),
        pa.field("last_seen_at", TIMESTAMP, nullable=False),
        pa.field("first_received_at", TIMESTAMP, nullable=False),
        pa.field("node", pa.int64(), nullable=False),
        pa.field("customer_key", pa.int64(), nullable=False),
        pa.field("degree", pa.int64(), nullable=False),
        pa.field("refused_rule", pa.string()),
    ]
)

# One row per pair of identifiers seen together on an event (u < v): the identity graph.
IDENTITY_EDGES_SCHEMA = pa.schema(
    [
        pa.field("u", pa.int64(), nullable=False),
        pa.field("v", pa.int64(), nullable=False),
        pa.field("first_received_at", TIMESTAMP, nullable=False),
        pa.field("evidence", pa.int64(), nullable=False),
    ]
)

# One row per refusal of the identity guards: what was not merged, and why.
IDENTITY_CONFLICTS_SCHEMA = pa.schema(
    [
        pa.field("rule", pa.string(), nullable=False),
        pa.field("identifier_type", pa.string(), nullable=False),
        pa.field("identifier_value", pa.string(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("other_identifier_type", pa.string()),
        pa.field("other_identifier_value", pa.string()),
        pa.field("other_customer_id", pa.string()),
        pa.field("detail", pa.string(), nullable=False),
    ]
)

IDENTITY_MERGES_SCHEMA = pa.schema(
    [
        pa.field("merged_customer_id", pa.string(), nullable=False),
        pa.field("into_customer_id", pa.string(), nullable=False),
        pa.field("merged_at", TIMESTAMP, nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("reason_code", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string(), nullable=False),
        pa.field("received_at", TIMESTAMP, nullable=False),
        pa.field("location", pa.string(), nullable=False),
    ]
)

SOURCE_STATS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("input_count", pa.int64(), nullable=False),
        pa.field("accepted_count", pa.int64(), nullable=False),
        pa.field("quarantined_count", pa.int64(), nullable=False),
        pa.field("duplicate_count", pa.int64(), nullable=False),
        pa.field("identifiers_dropped", pa.int64(), nullable=False),
        # Source rows read, and those a mapping's conditions filtered out: with fan-out
        # (one row → several events) input_count counts candidate events, not rows.
        pa.field("source_rows", pa.int64(), nullable=False),
        pa.field("skipped_rows", pa.int64(), nullable=False),
        pa.field("max_occurred_at", TIMESTAMP),
        pa.field("max_received_at", TIMESTAMP),
    ]
)


def all_event_types(custom: dict[str, list[str]] | None = None) -> dict[str, frozenset[str]]:
    """Return the vocabulary per stream, extended by configured custom types."""
    vocab = {stream: set(types) for stream, types in EVENT_TYPES.items()}
    for stream, types in (custom or {}).items():
        vocab.setdefault(stream, set()).update(types)
    return {stream: frozenset(types) for stream, types in vocab.items()}


PIPELINE_RUNS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("started_at", TIMESTAMP, nullable=False),
        pa.field("finished_at", TIMESTAMP),
        pa.field("status", pa.string(), nullable=False),
        pa.field("window_start", TIMESTAMP),
        pa.field("window_end", TIMESTAMP),
        pa.field("input_count", pa.int64()),
        pa.field("accepted_count", pa.int64()),
        pa.field("quarantined_count", pa.int64()),
        pa.field("duplicate_count", pa.int64()),
        pa.field("customers_count", pa.int64()),
        pa.field("attempt", pa.int64(), nullable=False),
        pa.field("lake_attempt", pa.string(), nullable=False),
        pa.field("message", pa.string()),
    ]
)

DQ_RESULTS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("check_name", pa.string(), nullable=False),
        pa.field("target", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("observed_value", pa.float64()),
        pa.field("threshold", pa.string()),
        pa.field("details", pa.string()),
        pa.field("samples", pa.string()),
        pa.field("checked_at", TIMESTAMP, nullable=False),
    ]
)
