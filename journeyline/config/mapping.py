"""The shape of a declarative mapping (a source's `mapping:` block) and of Segment options.

One spec validates both the mappings users write in `journeyline.yml` and the
built-in connector mappings shipped in `journeyline/defaults/connectors/`, so
every mapping gets the same line-precise errors. The engine that applies a
validated mapping lives in `transforms/adapters/mapping.py`.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from journeyline.config.validate import Bool, ListOf, MapOf, Obj, Spec, Str, _Ctx

FILE_TYPES = ("csv", "jsonl", "json", "parquet")
# A value map's `otherwise:` is one of these actions, or else a constant to use.
OTHERWISE_ACTIONS = ("reject", "keep", "skip")
VALUE_SOURCES = ("column", "value", "template", "first_of")
EVENT_FIELDS = (
    "event_id",
    "event_type",
    "stream",
    "occurred_at",
    "account_id",
    "channel",
    "campaign_id",
    "message_theme",
    "amount",
    "currency",
    "score",
    "survey_type",
)
TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")
_IDENTIFIER_TYPE = r"[a-z][a-z0-9_]*"


def _check_value(value: dict[str, Any], node: yaml.Node, path: str, ctx: _Ctx) -> None:
    given = [key for key in VALUE_SOURCES if key in value]
    if len(given) != 1:
        raise ctx.fail(
            node,
            f"'{path}' needs exactly one of column, value, template or first_of"
            + (f" (it has {', '.join(given)})" if given else ""),
            "e.g. {column: created_date}, {value: deal_won} or {template: 'sf-{id}'}",
        )
    template = value.get("template")
    if template is not None and not TEMPLATE_FIELD.search(template):
        raise ctx.fail(
            node,
            f"'{path}.template' is {template!r}, which names no column",
            "put column names in braces, e.g. 'sf-opp-{id}-{stage_name}'",
        )
    zone = value.get("timezone")
    if zone is not None:
        _check_zone(zone, node, f"{path}.timezone", ctx)


def _check_zone(zone: str, node: yaml.Node, path: str, ctx: _Ctx) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ctx.fail(
            node, f"'{path}' is {zone!r}, not a known time zone", "e.g. UTC or Europe/Berlin"
        ) from None


class ValueSpec(Spec):
    """Where one canonical field's value comes from: a column, a constant, a template …"""

    what = "a mapping such as {column: NAME} or {value: CONSTANT}"
    example = "{column: created_date} or {value: deal_won}"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> dict[str, Any]:
        return _VALUE.check(node, path, ctx)


_CONDITION = Obj(
    {
        "equals": Str(),
        "in": ListOf(Str(), min_items=1),
        "not_in": ListOf(Str(), min_items=1),
        "present": Bool(),
        "matches": Str(),
    }
)


def _check_conditions(value: dict[str, Any], node: yaml.Node, path: str, ctx: _Ctx) -> None:
    for key_node, value_node in node.value:
        pattern = value.get(ctx.scalar(key_node), {}).get("matches")
        if pattern is None:
            continue
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ctx.fail(
                value_node,
                f"'{path}.{ctx.scalar(key_node)}.matches' is not a valid regular expression "
                f"({exc})",
                "escape special characters with a backslash",
            ) from None


class _Conditions(MapOf):
    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> dict[str, Any]:
        value = super().check(node, path, ctx)
        _check_conditions(value, node, path, ctx)
        return value


_VALUE = Obj(
    {
        "column": Str(example="a column name, e.g. created_date"),
        "value": Str(example="a constant, e.g. deal_won"),
        "template": Str(example="'sf-opp-{id}-{stage_name}'"),
        "first_of": ListOf(ValueSpec(), min_items=1),
        "map": MapOf(Str()),
        "otherwise": Str(example="reject, keep, skip or a constant"),
        "default": Str(),
        "format": Str(example="a strptime format such as '%d.%m.%Y %H:%M', or epoch_s / epoch_ms"),
        "timezone": Str(example="UTC or Europe/Berlin"),
        "optional": Bool(),
        "lower": Bool(),
    },
    post=_check_value,
)

_EVENT_KEYS: dict[str, Spec] = {name: ValueSpec() for name in EVENT_FIELDS}
_SHARED_KEYS: dict[str, Spec] = {
    **_EVENT_KEYS,
    "identifiers": MapOf(ValueSpec(), key=Str(pattern=_IDENTIFIER_TYPE)),
    "properties": MapOf(ValueSpec()),
}

EVENT = Obj(
    {
        "name": Str(pattern=r"[a-z][a-z0-9_]*", example="lower_snake_case, e.g. won"),
        "when": _Conditions(_CONDITION),
        **_SHARED_KEYS,
    }
)


def _check_mapping(value: dict[str, Any], node: yaml.Node, path: str, ctx: _Ctx) -> None:
    if "timezone" in value:
        _check_zone(value["timezone"], node, f"{path}.timezone", ctx)
    names = [e.get("name") for e in value["events"] if e.get("name")]
    if len(names) != len(set(names)):
        raise ctx.fail(node, f"'{path}.events' gives two events the same name", "rename one")
    for i, event in enumerate(value["events"]):
        merged = {**value.get("fields", {}), **event}
        if "event_type" not in merged or "occurred_at" not in merged:
            raise ctx.fail(
                node,
                f"'{path}.events[{i}]' has no event_type or no occurred_at (in the event "
                "or in fields)",
                "add e.g. event_type: {value: deal_won} and occurred_at: {column: closed_at}",
            )


MAPPING = Obj(
    {
        "file_type": Str(choices=FILE_TYPES),
        "csv_delimiter": Str(example="a single character, e.g. ';'"),
        "timezone": Str(example="UTC or Europe/Berlin"),
        "keep_columns": Bool(),
        "where": _Conditions(_CONDITION),
        "fields": Obj(_SHARED_KEYS),
        "events": ListOf(EVENT, min_items=1),
    },
    required=("events",),
    post=_check_mapping,
)

SEGMENT = Obj(
    {
        "event_map": MapOf(Str(pattern=r"[a-z][a-z0-9_]*", example="an event type, e.g. deal_won")),
        "unmapped": Str(example="reject, or an event type such as product_action"),
        "calls": MapOf(
            Str(example="an event type, or reject"),
            key=Str(choices=("identify", "track", "page", "screen", "group", "alias")),
        ),
        "streams": MapOf(Str(choices=("marketing", "sales", "service"))),
    }
)


def column_references(spec: dict[str, Any]) -> list[tuple[str, bool]]:
    """Every (column, optional) a value spec reads, templates and first_of included."""
    optional = bool(spec.get("optional")) or "default" in spec
    if "column" in spec:
        return [(spec["column"], optional)]
    if "template" in spec:
        return [(name, optional) for name in TEMPLATE_FIELD.findall(spec["template"])]
    if "first_of" in spec:
        # Each alternative may be missing as long as one of them can be there.
        return [(c, True) for part in spec["first_of"] for c, _ in column_references(part)]
    return []
