"""journeyline.yml: its shape, its built-in defaults and the typed config the code uses."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from journeyline.config.mapping import MAPPING, SEGMENT
from journeyline.config.sources import (
    CONNECTORS,
    check_source,
    check_source_semantics,
)
from journeyline.config.streaming import (
    ALERTS,
    STREAMING,
    AlertsConfig,
    StreamingConfig,
    build_alerts,
    build_streaming,
    check_streaming,
)
from journeyline.config.validate import (
    Bool,
    ConfigError,
    ListOf,
    MapOf,
    Num,
    Obj,
    Str,
    _Ctx,
    parse_yaml,
    read_yaml_file,
)
from journeyline.schema import IDENTIFIER_TYPES, OUTCOMES, STAGES, STREAMS

FORMATS = ("canonical", "segment", "mapping", *CONNECTORS)
JOINS = ("auto", "broadcast", "shuffle")
# Starting a parse process costs about a second: below this much input, one process is faster.
PARALLEL_PARSE_BYTES = 64 * 1024 * 1024
# Runners that run the whole pipeline in one process (the `auto` of the pipeline knobs), by
# the key Beam looks a runner name up by (``runner_key``).
LOCAL_RUNNERS = frozenset({"directrunner", "fnapirunner", "switchingdirectrunner"})
_BEAM_RUNNERS = "apache_beam.runners."  # where Beam's own runner classes live
SEVERITIES = ("error", "warn")
# Which files of a folder a source reads when it sets no `pattern`.
DEFAULT_PATTERNS = {"canonical": "*.jsonl", "segment": "*.json*"}
_NAME = r"[a-z][a-z0-9_]*"


def _check_timestamp(value: dict[str, Any], node: yaml.Node, path: str, ctx: _Ctx) -> None:
    raw = value.get("earliest_occurred_at")
    if raw is not None:
        try:
            datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise ctx.fail(
                node,
                f"'{path}.earliest_occurred_at' is {raw!r}, not an ISO timestamp",
                'write it as "2000-01-01T00:00:00Z"',
            ) from None


class RegexMap(MapOf):
    """Identifier type → list of regular expressions, each compiled to prove it is valid."""

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> dict[str, Any]:
        value = super().check(node, path, ctx)
        for key_node, value_node in node.value:
            key = ctx.scalar(key_node)
            for item_node in value_node.value:
                pattern = ctx.scalar(item_node)
                try:
                    re.compile(str(pattern))
                except re.error as exc:
                    raise ctx.fail(
                        item_node,
                        f"'{path}.{key}' holds {pattern!r}, not a valid regular expression ({exc})",
                        "escape special characters with a backslash",
                    ) from None
        return value


_SOURCE = Obj(
    {
        "name": Str(pattern=_NAME, example="lower_snake_case, e.g. 'web_events'"),
        "stream": Str(choices=STREAMS),
        "format": Str(choices=FORMATS),
        "location": Str(example="a folder or file path, e.g. data/landing/marketing"),
        "pattern": Str(example="a glob, e.g. '*.jsonl'"),
        "tables": MapOf(Str(example="a file glob or a BigQuery table name")),
        "mapping": MAPPING,
        "segment": SEGMENT,
    },
    required=("name", "format", "location"),
    post=check_source,
)

_STAGE_RULE = Obj(
    {
        "stage": Str(choices=STAGES),
        "any_event": Bool(),
        "event_types": ListOf(Str()),
        "requires_known_identifier": Bool(),
        "survey_type": Str(),
        "min_score": Num(),
        "max_score": Num(),
        "after": Str(choices=STAGES),
    },
    required=("stage",),
)

_OUTCOME_RULE = Obj(
    {
        "outcome": Str(choices=OUTCOMES),
        "event_types": ListOf(Str(), min_items=1),
        "before": Str(choices=STAGES),
        "after": Str(choices=STAGES),
    },
    required=("outcome", "event_types"),
)

_CHECK = Obj(
    {
        "severity": Str(choices=SEVERITIES),
        "min": Num(),
        "max": Num(),
        "enabled": Bool(),
        # Checks that compare with recent runs: how many published runs make the baseline.
        "runs": Num(minimum=1, maximum=1000, integer=True),
        # Checks on volumes: a baseline smaller than this many rows is noise, not judged.
        "min_rows": Num(minimum=0, integer=True),
        # Per-source/per-stream checks: only these sources or streams (default: all).
        "targets": ListOf(Str(pattern=_NAME), min_items=1),
    }
)

SPEC = Obj(
    {
        "version": Num(minimum=1, maximum=1, integer=True),
        "lake": Str(),
        "lake_uri": Str(pattern=r"gs://.+", example="gs://acme-journeyline/lake"),
        "warehouse": Obj(
            {
                "type": Str(choices=("duckdb", "bigquery")),
                "path": Str(),
                "schema": Str(pattern=_NAME),
                "staging_schema": Str(pattern=_NAME),
                "project": Str(pattern=r"[a-z][a-z0-9-]{4,28}[a-z0-9]", example="acme-prod"),
                "location": Str(example="EU or US or europe-west3"),
                "lake_dataset": Str(pattern=_NAME),
                "ops_dataset": Str(pattern=_NAME),
            }
        ),
        "privacy": Obj(
            {
                "enabled": Bool(),
                "hash_identifiers": ListOf(Str(pattern=_NAME)),
                "key_env": Str(pattern=r"[A-Z][A-Z0-9_]*", example="JOURNEYLINE_HASH_KEY"),
                "key_secret": Str(
                    pattern=r"projects/[^/]+/secrets/[^/]+/versions/[^/]+",
                    example="projects/acme-prod/secrets/journeyline-hash-key/versions/latest",
                ),
            }
        ),
        "sources": ListOf(_SOURCE, min_items=1),
        "contract": Obj(
            {
                "future_tolerance_hours": Num(minimum=0),
                "earliest_occurred_at": Str(example='"2000-01-01T00:00:00Z"'),
                "max_raw_bytes": Num(minimum=256, integer=True),
                "custom_event_types": MapOf(ListOf(Str(pattern=_NAME)), key=Str(choices=STREAMS)),
            },
            post=_check_timestamp,
        ),
        "identity": Obj(
            {
                "extra_identifier_types": ListOf(Str(pattern=_NAME)),
                "phone_default_region": Str(pattern=r"[A-Z]{2}", example="two letters, e.g. US"),
                "blocked_values": MapOf(ListOf(Str())),
                "blocked_patterns": RegexMap(ListOf(Str())),
                "limits": MapOf(Num(minimum=1, integer=True)),
                "max_component_size": Num(minimum=2, integer=True),
                "max_rounds": Num(minimum=1, maximum=1000, integer=True),
                "shared_guard": Bool(),
                "person_types": ListOf(Str(pattern=_NAME)),
                "shareable_types": ListOf(Str(pattern=_NAME)),
                "priority": ListOf(Str(pattern=_NAME), min_items=1),
            }
        ),
        "stages": Obj(
            {
                "order": ListOf(Str(choices=STAGES), min_items=1),
                "rules": ListOf(_STAGE_RULE, min_items=1),
                "outcomes": ListOf(_OUTCOME_RULE),
            }
        ),
        "quality": Obj({"checks": MapOf(_CHECK)}),
        "sla": Obj(
            {
                "speed_to_lead_hours": Num(minimum=0),
                "onboarding_start_days": Num(minimum=0),
                "first_reply_hours": Num(minimum=0),
            }
        ),
        "pipeline": Obj(
            {
                "shards": Num(minimum=1, maximum=4096, integer=True),
                "batch_rows": Num(minimum=100, integer=True),
                "joins": Str(choices=JOINS),
                "parse_processes": Num(minimum=0, maximum=256, integer=True),
            }
        ),
        "streaming": STREAMING,
        "alerts": ALERTS,
    }
)


@dataclass(frozen=True)
class SourceConfig:
    """One configured input: where it is, how to read it, which stream it feeds."""

    name: str
    format: str
    location: str
    stream: str | None = None
    pattern: str = "*.jsonl"
    # format: mapping → the validated `mapping:` block; connectors → built-in table → file glob
    # (or BigQuery table); format: segment → its options. Not compared: plain data.
    mapping: dict[str, Any] | None = field(default=None, compare=False)
    tables: dict[str, str] = field(default_factory=dict, compare=False)
    segment: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class StageRule:
    """An event that moves a customer to ``stage`` when all of its conditions hold."""

    stage: str
    any_event: bool = False
    event_types: frozenset[str] = frozenset()
    requires_known_identifier: bool = False
    survey_type: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    after: str | None = None


@dataclass(frozen=True)
class OutcomeRule:
    """An event that sets an outcome status (lost, churned) beside the stage."""

    outcome: str
    event_types: frozenset[str]
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class StagesConfig:
    order: tuple[str, ...]
    rules: tuple[StageRule, ...]
    outcomes: tuple[OutcomeRule, ...]


@dataclass(frozen=True)
class ContractConfig:
    future_tolerance_hours: float
    earliest_occurred_at: datetime
    max_raw_bytes: int
    custom_event_types: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class IdentityConfig:
    identifier_types: tuple[str, ...]
    phone_default_region: str
    blocked_values: dict[str, frozenset[str]]
    blocked_patterns: dict[str, tuple[str, ...]]
    limits: dict[str, int]
    max_component_size: int
    max_rounds: int
    shared_guard: bool = True
    person_types: tuple[str, ...] = ()
    shareable_types: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckConfig:
    name: str
    severity: str
    min: float | None = None
    max: float | None = None
    enabled: bool = True
    runs: int | None = None
    min_rows: int | None = None
    targets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class WarehouseConfig:
    """DuckDB: a file and two schemas. BigQuery: a project, four datasets (``schema`` is the
    published dataset, ``staging_schema`` the one dbt builds and the gates check)."""

    type: str
    path: str
    schema: str
    staging_schema: str
    project: str | None = None
    location: str = "US"
    lake_dataset: str = "journeyline_lake"
    ops_dataset: str = "journeyline_ops"


@dataclass(frozen=True)
class PrivacyConfig:
    """Which identifier types are keyed-hashed, where the key comes from (never the key
    itself: it is read from the environment or Secret Manager where it is used), and the
    suppression hashes of forgotten people (state loaded from the lake, not configuration)."""

    enabled: bool = True
    hash_identifiers: tuple[str, ...] = ("email", "phone")
    key_env: str = "JOURNEYLINE_HASH_KEY"
    key_secret: str | None = None
    suppressed: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def hashed_types(self) -> frozenset[str]:
        return frozenset(self.hash_identifiers) if self.enabled else frozenset()


@dataclass(frozen=True)
class SlaConfig:
    """Hand-off service levels the journey marts flag breaches of (SPEC §7)."""

    speed_to_lead_hours: float
    onboarding_start_days: float
    first_reply_hours: float

    def as_dbt_var(self) -> dict[str, float]:
        """The dbt var ``sla`` (dbt_project.yml) with these values."""
        return {
            "speed_to_lead_hours": self.speed_to_lead_hours,
            "onboarding_start_days": self.onboarding_start_days,
            "first_reply_hours": self.first_reply_hours,
        }


@dataclass(frozen=True)
class PipelineConfig:
    shards: int
    batch_rows: int
    # How the batch job's two joins move events (de-duplication, customer ids): "shuffle"
    # (events go to their key's worker; bounded memory per worker), "broadcast" (the small
    # side — losing copies, resolved identifiers — goes to every worker and the events stay
    # where they are) or "auto": broadcast on the local runner, which holds it all anyway.
    joins: str = "auto"
    # Processes that parse input files side by side; 0: one per core on the local runner
    # (its pipeline runs on one thread) once the input is big enough to repay starting them,
    # and 1 on distributed runners (they run a worker per core).
    parse_processes: int = 0

    def broadcast_joins(self, runner: str | None) -> bool:
        """Whether the batch job de-duplicates and finds customers by broadcast on ``runner``."""
        if self.joins != "auto":
            return self.joins == "broadcast"
        return is_local_runner(runner)

    def parsers(self, runner: str | None, input_bytes: int) -> int:
        """How many processes parse ``input_bytes`` of input files on ``runner``."""
        if self.parse_processes:
            return self.parse_processes
        if not is_local_runner(runner) or input_bytes < PARALLEL_PARSE_BYTES:
            return 1
        return max(1, os.cpu_count() or 1)


def runner_key(runner: str | None) -> str:
    """The runner Beam runs for the name ``runner`` (None: its default, the DirectRunner), as
    the key its ``create_runner`` looks names up by: case does not matter and the "Runner"
    suffix may be left out ("direct", "Direct" and "DirectRunner" are all "directrunner"),
    and one of Beam's own classes may be named by its module path."""
    name = (runner or "DirectRunner").lower()
    if name.startswith(_BEAM_RUNNERS):
        name = name.rsplit(".", 1)[-1]
    return name if "." in name or name.endswith("runner") else f"{name}runner"


def is_local_runner(runner: str | None) -> bool:
    """Whether ``runner`` (None: the default) is the local runner, however Beam lets it be
    named (``runner_key``)."""
    return runner_key(runner) in LOCAL_RUNNERS


@dataclass(frozen=True)
class Config:
    """The whole validated configuration; paths are absolute."""

    lake: str
    warehouse: WarehouseConfig
    sources: tuple[SourceConfig, ...]
    contract: ContractConfig
    identity: IdentityConfig
    stages: StagesConfig
    quality: dict[str, CheckConfig]
    pipeline: PipelineConfig
    sla: SlaConfig
    streaming: StreamingConfig
    alerts: AlertsConfig
    privacy: PrivacyConfig = PrivacyConfig()
    # The lake as Dataflow workers see it (gs://…) when `lake` is its Cloud Storage FUSE mount.
    lake_uri: str | None = None
    origin: str = "built-in defaults"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def check(self, name: str) -> CheckConfig:
        """The configuration of one quality check (error severity if not configured)."""
        return self.quality.get(name, CheckConfig(name=name, severity="error"))

    def with_input(self, folder: str | Path) -> Config:
        """Replace the configured sources by a landing folder in `journeyline generate` layout."""
        root = Path(folder).resolve()
        sources = tuple(
            SourceConfig(name=s, stream=s, format="canonical", location=str(root / s))
            for s in STREAMS
        )
        return replace(self, sources=sources)

    def with_suppressions(self, hashes: frozenset[str]) -> Config:
        """The same configuration with the suppression hashes of forgotten people."""
        return replace(self, privacy=replace(self.privacy, suppressed=frozenset(hashes)))

    def with_paths(self, *, lake: str | None = None, warehouse: str | None = None) -> Config:
        """Override the lake folder and/or the DuckDB warehouse file."""
        cfg = self
        if lake:
            cfg = replace(cfg, lake=str(Path(lake).resolve()))
            if not cfg.raw.get("streaming", {}).get("output"):
                output = f"{cfg.lake}/stream"
                cfg = replace(cfg, streaming=replace(cfg.streaming, output=output))
        if warehouse:
            resolved = str(Path(warehouse).resolve())
            cfg = replace(cfg, warehouse=replace(cfg.warehouse, path=resolved))
        return cfg


DEFAULTS_NAME = "journeyline.yml"


def _defaults_text() -> str:
    return resources.files("journeyline").joinpath("defaults", DEFAULTS_NAME).read_text("utf-8")


def _merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else (lists included) replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base.get(key), value) if key in base else value
        return out
    return override


def _resolve(path: str, base: Path) -> str:
    if "://" in path:
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def _semantic_checks(data: dict[str, Any], origin: str) -> None:
    """Checks across sections: unique source names, known event types and identifier types."""
    names: set[str] = set()
    for src in data["sources"]:
        if src["name"] in names:
            raise ConfigError(
                origin,
                None,
                f"two sources are named {src['name']!r}",
                "give every source its own name",
            )
        names.add(src["name"])
    from journeyline.schema import all_event_types

    vocab = set().union(*all_event_types(data["contract"].get("custom_event_types")).values())
    for section, rules in (
        ("stages.rules", data["stages"]["rules"]),
        ("stages.outcomes", data["stages"].get("outcomes", [])),
    ):
        for i, rule in enumerate(rules):
            for event_type in rule.get("event_types", []):
                if event_type not in vocab:
                    raise ConfigError(
                        origin,
                        None,
                        f"'{section}[{i}]' uses the event type {event_type!r}, "
                        "which no stream knows",
                        "add it under contract.custom_event_types or fix the spelling",
                    )
    known = set(IDENTIFIER_TYPES) | set(data["identity"].get("extra_identifier_types", []))
    check_source_semantics(data["sources"], known, vocab, origin)
    for key in data["privacy"]["hash_identifiers"]:
        if key not in known:
            raise ConfigError(
                origin,
                None,
                f"'privacy.hash_identifiers' names {key!r}, which is not an identifier type",
                "use one of: " + ", ".join(sorted(known)),
            )
    if data["warehouse"]["type"] == "bigquery" and not data["warehouse"].get("project"):
        raise ConfigError(
            origin,
            None,
            "'warehouse.type' is bigquery but 'warehouse.project' is not set",
            "add `project: YOUR-GCP-PROJECT` under warehouse (credentials come from the "
            "environment / Application Default Credentials, never from this file)",
        )
    for section in ("limits", "person_types", "shareable_types", "priority"):
        for key in data["identity"].get(section, ()):
            if key not in known:
                raise ConfigError(
                    origin,
                    None,
                    f"'identity.{section}' names {key!r}, which is not an identifier type",
                    "use one of: " + ", ".join(sorted(known)),
                )
    check_streaming(data, vocab, origin)
    order = data["stages"]["order"]
    for rule in data["stages"]["rules"]:
        if rule["stage"] not in order or (rule.get("after") and rule["after"] not in order):
            raise ConfigError(
                origin,
                None,
                f"a stage rule names {rule['stage']!r}, which is not in stages.order",
                "add it to stages.order or remove the rule",
            )


def _tuple_targets(check: dict[str, Any]) -> dict[str, Any]:
    return {"targets": tuple(check["targets"])} if "targets" in check else {}


def _build(data: dict[str, Any], base: Path, origin: str) -> Config:
    _semantic_checks(data, origin)
    lake = _resolve(data["lake"], base)
    wh = data["warehouse"]
    ident = data["identity"]
    contract = data["contract"]
    return Config(
        lake=lake,
        warehouse=WarehouseConfig(
            type=wh["type"],
            path=_resolve(wh["path"], base),
            schema=wh["schema"],
            staging_schema=wh["staging_schema"],
            project=wh.get("project"),
            location=wh["location"],
            lake_dataset=wh["lake_dataset"],
            ops_dataset=wh["ops_dataset"],
        ),
        sources=tuple(
            SourceConfig(
                name=s["name"],
                format=s["format"],
                location=_resolve(s["location"], base),
                stream=s.get("stream"),
                pattern=s.get("pattern", DEFAULT_PATTERNS.get(s["format"], "*")),
                mapping=s.get("mapping"),
                tables=dict(s.get("tables", {})),
                segment=dict(s.get("segment", {})),
            )
            for s in data["sources"]
        ),
        contract=ContractConfig(
            future_tolerance_hours=float(contract["future_tolerance_hours"]),
            earliest_occurred_at=datetime.fromisoformat(
                str(contract["earliest_occurred_at"]).replace("Z", "+00:00")
            ).astimezone(UTC),
            max_raw_bytes=int(contract["max_raw_bytes"]),
            custom_event_types={k: tuple(v) for k, v in contract["custom_event_types"].items()},
        ),
        identity=IdentityConfig(
            identifier_types=tuple(IDENTIFIER_TYPES) + tuple(ident["extra_identifier_types"]),
            phone_default_region=ident["phone_default_region"],
            blocked_values={k: frozenset(v) for k, v in ident["blocked_values"].items()},
            blocked_patterns={k: tuple(v) for k, v in ident["blocked_patterns"].items()},
            limits=dict(ident["limits"]),
            max_component_size=int(ident["max_component_size"]),
            max_rounds=int(ident["max_rounds"]),
            shared_guard=bool(ident["shared_guard"]),
            person_types=tuple(ident["person_types"]),
            shareable_types=tuple(ident["shareable_types"]),
            priority=tuple(ident["priority"]),
        ),
        stages=StagesConfig(
            order=tuple(data["stages"]["order"]),
            rules=tuple(
                StageRule(**{**r, "event_types": frozenset(r.get("event_types", []))})
                for r in data["stages"]["rules"]
            ),
            outcomes=tuple(
                OutcomeRule(**{**r, "event_types": frozenset(r["event_types"])})
                for r in data["stages"].get("outcomes", [])
            ),
        ),
        quality={
            name: CheckConfig(
                name=name,
                **{"severity": "error", **c, **_tuple_targets(c)},
            )
            for name, c in data["quality"]["checks"].items()
        },
        pipeline=PipelineConfig(**data["pipeline"]),
        streaming=build_streaming(data["streaming"], lake, lambda p: _resolve(p, base)),
        alerts=build_alerts(data["alerts"]),
        sla=SlaConfig(**{k: float(v) for k, v in data["sla"].items()}),
        lake_uri=data.get("lake_uri"),
        privacy=PrivacyConfig(
            enabled=bool(data["privacy"]["enabled"]),
            hash_identifiers=tuple(data["privacy"]["hash_identifiers"]),
            key_env=data["privacy"]["key_env"],
            key_secret=data["privacy"].get("key_secret"),
        ),
        origin=origin,
        raw=data,
    )


def default_config() -> Config:
    """The built-in defaults alone, whatever the current folder holds."""
    defaults = parse_yaml(_defaults_text(), f"<built-in {DEFAULTS_NAME}>", SPEC)
    return _build(defaults, Path.cwd(), "built-in defaults")


def load_config(path: str | Path | None = None) -> Config:
    """Load the built-in defaults, merged with ``path`` (or ./journeyline.yml if present)."""
    defaults = parse_yaml(_defaults_text(), f"<built-in {DEFAULTS_NAME}>", SPEC)
    if path is None and Path(DEFAULTS_NAME).is_file():
        path = Path(DEFAULTS_NAME)
    if path is None:
        return _build(defaults, Path.cwd(), "built-in defaults")
    path = Path(path)
    user = read_yaml_file(path, SPEC)
    return _build(_merge(defaults, user), path.resolve().parent, str(path))
