"""Source-level rules of journeyline.yml: which keys each format needs, built-in connectors.

The connector formats (salesforce, hubspot, zendesk, marketo) are declarative
mappings shipped in `journeyline/defaults/connectors/<name>.yml`, validated by
the same spec as a user's `mapping:` block, so one engine serves every source.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from importlib import resources
from typing import Any

import yaml

from journeyline.config.mapping import MAPPING
from journeyline.config.validate import ConfigError, ListOf, MapOf, Obj, Str, _Ctx, parse_yaml

CONNECTORS = ("salesforce", "hubspot", "zendesk", "marketo")
BIGQUERY_SCHEME = "bigquery://"
_BQ_NAME = r"[A-Za-z0-9_\-]+"
_BQ_DATASET = re.compile(rf"{_BQ_NAME}\.{_BQ_NAME}")
_BQ_TABLE = re.compile(rf"{_BQ_NAME}\.{_BQ_NAME}\.{_BQ_NAME}")

CONNECTOR = Obj(
    {
        "description": Str(),
        "identifier_types": ListOf(Str(pattern=r"[a-z][a-z0-9_]*")),
        "tables": MapOf(Obj({"description": Str(), "mapping": MAPPING}, required=("mapping",))),
    },
    required=("tables",),
)


@cache
def load_connector(name: str) -> dict[str, Any]:
    """A built-in connector definition (its tables and their mappings), validated."""
    text = (
        resources.files("journeyline")
        .joinpath("defaults", "connectors", f"{name}.yml")
        .read_text("utf-8")
    )
    return parse_yaml(text, f"<built-in connectors/{name}.yml>", CONNECTOR)


def connector_tables(name: str) -> tuple[str, ...]:
    """The table names a built-in connector maps, in file order."""
    return tuple(load_connector(name)["tables"])


def table_mapping(fmt: str, table: str) -> dict[str, Any]:
    """The validated mapping of one built-in connector table."""
    return load_connector(fmt)["tables"][table]["mapping"]


def is_bigquery(location: str) -> bool:
    """True when a source's location names BigQuery rather than files."""
    return location.startswith(BIGQUERY_SCHEME)


def bigquery_table(location: str, table: str | None = None) -> str:
    """`project.dataset.table` for a source location (and a connector table name)."""
    ref = location[len(BIGQUERY_SCHEME) :]
    return f"{ref}.{table}" if table else ref


def check_source(value: dict[str, Any], node: yaml.Node, path: str, ctx: _Ctx) -> None:
    """Per-source rules the key-by-key spec cannot express (line-precise errors)."""
    fmt = value["format"]
    keys = {ctx.scalar(k): k for k, _ in node.value}
    values = {ctx.scalar(k): v for k, v in node.value}
    if "mapping" in value and fmt != "mapping":
        raise ctx.fail(
            keys["mapping"],
            f"'{path}.mapping' is only read with format: mapping (this source is {fmt!r})",
            "set format: mapping, or remove the mapping block",
        )
    if "segment" in value and fmt != "segment":
        raise ctx.fail(keys["segment"], f"'{path}.segment' is only read with format: segment", "")
    if fmt == "mapping" and "mapping" not in value:
        raise ctx.fail(
            node,
            f"'{path}' has format: mapping but no mapping block",
            "add 'mapping:' with at least 'events:' (see README, Declarative mappings)",
        )
    if fmt in CONNECTORS:
        _check_tables(value, values, node, path, ctx)
    elif "tables" in value:
        raise ctx.fail(
            keys["tables"],
            f"'{path}.tables' is only read for the connector formats ({', '.join(CONNECTORS)})",
            "remove it, or use 'pattern' to choose files",
        )
    location = value["location"]
    if is_bigquery(location):
        ref = location[len(BIGQUERY_SCHEME) :]
        wanted = _BQ_DATASET if fmt in CONNECTORS else _BQ_TABLE
        if not wanted.fullmatch(ref):
            shape = "PROJECT.DATASET" if fmt in CONNECTORS else "PROJECT.DATASET.TABLE"
            example = f"fivetran_{fmt}" if fmt in CONNECTORS else "events.web"
            raise ctx.fail(
                keys["location"],
                f"'{path}.location' is {location!r}; a BigQuery location for format {fmt!r} "
                f"is {BIGQUERY_SCHEME}{shape}",
                f"e.g. {BIGQUERY_SCHEME}my-project.{example}",
            )


def _check_tables(
    value: dict[str, Any], values: dict[str, yaml.Node], node: yaml.Node, path: str, ctx: _Ctx
) -> None:
    fmt = value["format"]
    known = connector_tables(fmt)
    if not value.get("tables"):
        raise ctx.fail(
            node,
            f"'{path}' (format: {fmt}) does not say which tables to read",
            f"add 'tables:' mapping table → file glob, e.g. tables: {{{known[0]}: "
            f"'{known[0]}*.csv'}}; built-in tables: {', '.join(known)}",
        )
    table_nodes = {ctx.scalar(k): k for k, _ in values["tables"].value}
    for table in value["tables"]:
        if table not in known:
            close = difflib.get_close_matches(table, known, n=1)
            raise ctx.fail(
                table_nodes[table],
                f"'{path}.tables' names {table!r}, which the built-in {fmt} mapping does not know",
                (f"did you mean {close[0]!r}? " if close else "")
                + f"built-in tables: {', '.join(known)}",
            )


def _value_constants(spec: dict[str, Any]) -> list[str]:
    """Constants a value spec can produce (its value, map targets, default, otherwise)."""
    out = [spec["value"]] if "value" in spec else []
    out += list(spec.get("map", {}).values())
    if "default" in spec:
        out.append(spec["default"])
    if spec.get("otherwise") not in (None, "reject", "keep", "skip"):
        out.append(spec["otherwise"])
    for part in spec.get("first_of", []):
        out += _value_constants(part)
    return out


def check_source_semantics(
    sources: list[dict[str, Any]], identifier_types: set[str], vocab: set[str], origin: str
) -> None:
    """Across sections: mapped event types are in the vocabulary, identifier types are known."""
    for i, source in enumerate(sources):
        where = f"sources[{i}] ({source['name']})"
        mapping = source.get("mapping")
        if mapping:
            for j, event in enumerate(mapping["events"]):
                merged = {**mapping.get("fields", {}), **event}
                for event_type in _value_constants(merged["event_type"]):
                    _known(event_type, vocab, f"{where}.mapping.events[{j}]", origin)
                shared_ids = mapping.get("fields", {}).get("identifiers", {})
                ids = {**shared_ids, **event.get("identifiers", {})}
                for id_type in ids:
                    if id_type not in identifier_types:
                        raise ConfigError(
                            origin,
                            None,
                            f"'{where}.mapping' maps the identifier type {id_type!r}, which is "
                            "not an identifier type",
                            "use one of: "
                            + ", ".join(sorted(identifier_types))
                            + ", or add it to identity.extra_identifier_types",
                        )
        segment = source.get("segment", {})
        targets = [*segment.get("event_map", {}).values(), *segment.get("calls", {}).values()]
        targets.append(segment.get("unmapped", "reject"))
        for event_type in targets:
            if event_type != "reject":
                _known(event_type, vocab, f"{where}.segment", origin)


def _known(event_type: str, vocab: set[str], where: str, origin: str) -> None:
    if event_type not in vocab:
        close = difflib.get_close_matches(event_type, sorted(vocab), n=1)
        raise ConfigError(
            origin,
            None,
            f"'{where}' maps to the event type {event_type!r}, which no stream knows",
            (f"did you mean {close[0]!r}? " if close else "")
            + "or add it under contract.custom_event_types",
        )
