"""The declarative mapping engine: one source row → zero, one or several canonical events.

A validated `mapping:` block (user-written, or a built-in connector table)
compiles once into a ``Mapping``. ``Mapping.apply(row)`` returns one candidate
per event definition whose conditions hold: a canonical-shaped dict for the
shared ``RowContract``, or a ``Rejection`` when this row cannot give that event
(an unmapped status, an unreadable timestamp …). An empty list means the
configuration filtered the row out (``where``/``when``): it is counted as a
skipped row, not quarantined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from journeyline.config.mapping import EVENT_FIELDS, column_references
from transforms.adapters.values import SKIP, as_text, is_empty, lookup, resolve, show
from transforms.contract import Rejection

Candidate = dict[str, Any] | Rejection


@dataclass(frozen=True)
class Condition:
    """One column's condition (all given tests must hold); text compared case-insensitively."""

    column: str
    equals: str | None = None
    within: frozenset[str] | None = None
    not_within: frozenset[str] | None = None
    present: bool | None = None
    matches: re.Pattern[str] | None = None

    @classmethod
    def compile(cls, column: str, spec: dict[str, Any]) -> Condition:
        return cls(
            column=column,
            equals=spec["equals"].casefold() if "equals" in spec else None,
            within=frozenset(v.casefold() for v in spec["in"]) if "in" in spec else None,
            not_within=frozenset(v.casefold() for v in spec["not_in"])
            if "not_in" in spec
            else None,
            present=spec.get("present"),
            matches=re.compile(spec["matches"]) if "matches" in spec else None,
        )

    def holds(self, row: dict[str, Any]) -> bool:
        value = lookup(row, self.column)
        empty = is_empty(value)
        if self.present is not None and self.present == empty:
            return False
        text = "" if empty else as_text(value).casefold()
        if self.equals is not None and text != self.equals:
            return False
        if self.within is not None and text not in self.within:
            return False
        if self.not_within is not None and text in self.not_within:
            return False
        return self.matches is None or (not empty and bool(self.matches.search(as_text(value))))


def _conditions(spec: dict[str, dict[str, Any]] | None) -> tuple[Condition, ...]:
    return tuple(Condition.compile(col, cond) for col, cond in (spec or {}).items())


@dataclass(frozen=True)
class EventDef:
    """One event a row can give: its conditions and the value spec of every field."""

    label: str
    when: tuple[Condition, ...]
    fields: dict[str, dict[str, Any]]
    identifiers: dict[str, dict[str, Any]]
    properties: dict[str, dict[str, Any]]


class Mapping:
    """A compiled mapping: row filter, event definitions, and the columns it reads."""

    def __init__(
        self,
        spec: dict[str, Any],
        *,
        name: str,
        table: str = "",
        identifier_types: frozenset[str] | None = None,
    ) -> None:
        """``identifier_types``: when given, identifiers of other types are left out (the
        built-in connectors' object ids are opt-in through identity.extra_identifier_types)."""
        self.name = name
        self.table = table
        self.identifier_types = identifier_types
        self.timezone = spec.get("timezone", "UTC")
        self.keep_columns = spec.get("keep_columns", True)
        self.where = _conditions(spec.get("where"))
        shared = spec.get("fields", {})
        self.events = tuple(self._event(i, shared, event) for i, event in enumerate(spec["events"]))
        self.used_columns = frozenset(c for c, _ in self.column_needs(spec))
        self._spec = spec

    def _event(self, index: int, shared: dict[str, Any], event: dict[str, Any]) -> EventDef:
        fields = {
            key: self._with_zone(value)
            for key, value in {**shared, **event}.items()
            if key in EVENT_FIELDS
        }
        return EventDef(
            label=event.get("name", str(index)),
            when=_conditions(event.get("when")),
            fields=fields,
            identifiers={**shared.get("identifiers", {}), **event.get("identifiers", {})},
            properties={**shared.get("properties", {}), **event.get("properties", {})},
        )

    def _with_zone(self, spec: dict[str, Any]) -> dict[str, Any]:
        return spec if "timezone" in spec else {**spec, "timezone": self.timezone}

    @staticmethod
    def column_needs(spec: dict[str, Any]) -> list[tuple[str, bool]]:
        """(column, optional) for every column the mapping reads anywhere."""
        needs: list[tuple[str, bool]] = [(c, True) for c in spec.get("where", {})]
        blocks = [spec.get("fields", {}), *spec["events"]]
        for block in blocks:
            needs += [(c, True) for c in block.get("when", {})]
            for key, value in block.items():
                if key in EVENT_FIELDS:
                    needs += column_references(value)
            for group in ("identifiers", "properties"):
                for value in block.get(group, {}).values():
                    needs += column_references(value)
        return needs

    def required_columns(self) -> dict[str, str]:
        """Columns every row must have, each with the mapping key that needs it."""
        out: dict[str, str] = {}
        for i, block in enumerate([self._spec.get("fields", {}), *self._spec["events"]]):
            where = "fields" if i == 0 else f"events[{i - 1}]"
            for key, value in block.items():
                specs = value.items() if key in ("identifiers", "properties") else [(key, value)]
                if key not in EVENT_FIELDS and key not in ("identifiers", "properties"):
                    continue
                for sub, spec in specs:
                    label = f"{where}.{key}" + (f".{sub}" if sub != key else "")
                    for column, optional in column_references(spec):
                        if not optional:
                            out.setdefault(column, label)
        return out

    def apply(self, row: dict[str, Any]) -> list[Candidate]:
        """The candidate events of one row ([] when its conditions filter it out)."""
        if not all(c.holds(row) for c in self.where):
            return []
        out: list[Candidate] = []
        for event in self.events:
            if not all(c.holds(row) for c in event.when):
                continue
            try:
                candidate = self._build(event, row)
            except Rejection as rejection:
                several = len(self.events) > 1
                out.append(describe_rejection(rejection, event.label) if several else rejection)
                continue
            if candidate is not SKIP:
                out.append(candidate)
        return out

    def _build(self, event: EventDef, row: dict[str, Any]) -> dict[str, Any] | Any:
        obj: dict[str, Any] = {}
        for key, spec in event.fields.items():
            value = resolve(spec, row, key)
            if value is SKIP:
                return SKIP
            if value is not None:
                obj[key] = value
        identifiers: dict[str, Any] = {}
        for id_type, spec in event.identifiers.items():
            if self.identifier_types is not None and id_type not in self.identifier_types:
                continue
            value = resolve(spec, row, f"identifiers.{id_type}")
            if value is SKIP:
                return SKIP
            if value is not None:
                identifiers[id_type] = value
        obj["identifiers"] = identifiers
        obj["properties"] = self._properties(event, row)
        return obj

    def _properties(self, event: EventDef, row: dict[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = {}
        if self.keep_columns:
            for column, value in row.items():
                if column not in self.used_columns and not is_empty(value):
                    props[str(column)] = value
        for key, spec in event.properties.items():
            value = resolve(spec, row, f"properties.{key}")
            if value is not None and value is not SKIP:
                props[key] = value
        if self.table:
            props["source_table"] = self.table
        if len(self.events) > 1:
            props["mapping_event"] = event.label
        return props


def missing_columns(mapping: Mapping, columns: list[str]) -> dict[str, str]:
    """Required columns absent from a header, each with the mapping key that needs it."""
    present = set(columns)
    return {c: why for c, why in mapping.required_columns().items() if c not in present}


def describe_rejection(rejection: Rejection, event: str) -> Rejection:
    """The same rejection, its reason prefixed by the event definition it came from."""
    return Rejection(rejection.code, f"event {show(event)}: {rejection.reason}")
