"""Identity resolution: identifiers → graph → components → stable customer ids → events.

Each event links the identifiers it carries (edges); customers are the
connected components (``ConnectedComponents``). A component's ``customer_id`` is
minted from its earliest identifier — first received, then first seen, then
type and value — so an unaffected customer keeps its id as data grows and, when
two customers merge, the older id survives. ``account_id`` is not an identifier
and never links people; blocked values were already dropped by the contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa

from journeyline.schema import EVENT_SCHEMA, TIMESTAMP
from transforms.batches import concat, group_starts, int_shards, lookup, split_by_shard
from transforms.components import LABEL_SCHEMA, UNCONVERGED, ConnectedComponents, edge_table
from transforms.identifiers import customer_id_for, node_id

NODE_SCHEMA = pa.schema(
    [
        pa.field("node", pa.int64(), False),
        pa.field("identifier_type", pa.string(), False),
        pa.field("identifier_value", pa.string(), False),
        pa.field("occurred_at", TIMESTAMP, False),
        pa.field("received_at", TIMESTAMP, False),
    ]
)
NODE_STATS_SCHEMA = pa.schema(
    [
        pa.field("node", pa.int64(), False),
        pa.field("identifier_type", pa.string(), False),
        pa.field("identifier_value", pa.string(), False),
        pa.field("first_seen_at", TIMESTAMP, False),
        pa.field("last_seen_at", TIMESTAMP, False),
        pa.field("first_received_at", TIMESTAMP, False),
    ]
)
RESOLVED_SCHEMA = pa.schema(
    [
        *NODE_STATS_SCHEMA,
        pa.field("customer_id", pa.string(), False),
        pa.field("customer_key", pa.int64(), False),
    ]
)
KEYED_EVENT_SCHEMA = EVENT_SCHEMA.append(pa.field("primary_node", pa.int64(), False))
ASSIGNED_EVENT_SCHEMA = EVENT_SCHEMA.append(pa.field("customer_id", pa.string(), False)).append(
    pa.field("customer_key", pa.int64(), False)
)
UNASSIGNED = "unassigned"


def flatten_identifiers(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list, list]:
    """(row index, type, value) for every identifier of every row of a map column."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    offsets = arr.offsets.to_numpy()
    start, length = int(offsets[0]), int(offsets[-1] - offsets[0])
    parent = np.repeat(np.arange(len(arr), dtype=np.int64), np.diff(offsets))
    return (
        parent,
        arr.keys.slice(start, length).to_pylist(),
        arr.items.slice(start, length).to_pylist(),
    )


def graph_of(events: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Split an event table into (events + primary_node, identifier nodes, edges).

    The first identifier of each event is its hub: the edges join it to the event's other
    identifiers, and it is the node through which the event later finds its customer.
    """
    parent, types, values = flatten_identifiers(events.column("identifiers"))
    nodes = np.fromiter(
        (node_id(t, v) for t, v in zip(types, values, strict=True)), np.int64, len(types)
    )
    is_hub = np.r_[True, parent[1:] != parent[:-1]] if len(parent) else np.zeros(0, bool)
    hub_of_row = nodes[is_hub]
    keyed = events.append_column(
        KEYED_EVENT_SCHEMA.field("primary_node"), pa.array(hub_of_row, pa.int64())
    )
    occurred = events.column("occurred_at").take(pa.array(parent))
    received = events.column("received_at").take(pa.array(parent))
    node_table = pa.Table.from_arrays(
        [
            pa.array(nodes, pa.int64()),
            pa.array(types, pa.string()),
            pa.array(values, pa.string()),
            occurred,
            received,
        ],
        schema=NODE_SCHEMA,
    )
    spoke = ~is_hub
    edges = edge_table(hub_of_row[parent[spoke]], nodes[spoke])
    return keyed, node_table, edges


def node_stats(nodes: pa.Table) -> pa.Table:
    """First/last seen and first received per identifier node."""
    if not nodes.num_rows:
        return NODE_STATS_SCHEMA.empty_table()
    stats = nodes.group_by("node", use_threads=False).aggregate(
        [
            ("identifier_type", "min"),
            ("identifier_value", "min"),
            ("occurred_at", "min"),
            ("occurred_at", "max"),
            ("received_at", "min"),
        ]
    )
    return pa.Table.from_arrays(
        [
            stats.column("node"),
            stats.column("identifier_type_min"),
            stats.column("identifier_value_min"),
            stats.column("occurred_at_min"),
            stats.column("occurred_at_max"),
            stats.column("received_at_min"),
        ],
        schema=NODE_STATS_SCHEMA,
    )


def with_roots(stats: pa.Table, labels: pa.Table) -> pa.Table:
    """Node stats plus the component root of each node (a node on no edge is its own root)."""
    nodes = stats.column("node").to_numpy()
    row, found = lookup(nodes, labels.column("node").to_numpy())
    roots = labels.column("root").to_numpy()
    root = np.where(found, roots[row] if len(roots) else nodes, nodes)
    return stats.append_column("root", pa.array(root, pa.int64()))


def mint_customers(nodes: pa.Table) -> pa.Table:
    """Give every node the customer id of its component's earliest identifier."""
    if not nodes.num_rows:
        return RESOLVED_SCHEMA.empty_table()
    ordered = nodes.sort_by(
        [
            ("root", "ascending"),
            ("first_received_at", "ascending"),
            ("first_seen_at", "ascending"),
            ("identifier_type", "ascending"),
            ("identifier_value", "ascending"),
        ]
    )
    first = group_starts(ordered.column("root"))
    founders = ordered.filter(pa.array(first))
    ids = [
        customer_id_for(t, v)
        for t, v in zip(
            founders.column("identifier_type").to_pylist(),
            founders.column("identifier_value").to_pylist(),
            strict=True,
        )
    ]
    mapping = pa.table(
        {
            "root": founders.column("root"),
            "customer_id": pa.array(ids, pa.string()),
            "customer_key": founders.column("node"),
        }
    )
    resolved = ordered.join(mapping, keys="root", use_threads=False)
    return resolved.select(RESOLVED_SCHEMA.names).cast(RESOLVED_SCHEMA)


def assign_customers(events: pa.Table, resolved: pa.Table) -> tuple[pa.Table, int]:
    """Attach customer_id/customer_key to events through their primary node."""
    row, found = lookup(
        events.column("primary_node").to_numpy(), resolved.column("node").to_numpy()
    )
    missing = int((~found).sum())
    if missing:
        events, row = events.filter(pa.array(found)), row[found]
    take = pa.array(row, pa.int64())
    assigned = events.drop_columns(["primary_node"])
    assigned = assigned.append_column("customer_id", resolved.column("customer_id").take(take))
    assigned = assigned.append_column("customer_key", resolved.column("customer_key").take(take))
    return assigned.cast(ASSIGNED_EVENT_SCHEMA), missing


# --- Beam wiring -------------------------------------------------------------------------


class _Graph(beam.DoFn):
    EDGES = "edges"
    NODES = "nodes"

    def __init__(self, shards: int) -> None:
        self.shards = shards

    def process(self, events: pa.Table) -> Iterator[Any]:
        keyed, nodes, edges = graph_of(events)
        shards = self.shards
        for item in split_by_shard(keyed, int_shards(keyed.column("primary_node"), shards)):
            yield item
        for item in split_by_shard(nodes, int_shards(nodes.column("node"), shards)):
            yield beam.pvalue.TaggedOutput(self.NODES, item)
        if edges.num_rows:
            yield beam.pvalue.TaggedOutput(self.EDGES, edges)


def _stats(element: tuple[int, Iterable[pa.Table]]) -> Iterator[tuple[int, pa.Table]]:
    shard, tables = element
    yield shard, node_stats(concat(tables, NODE_SCHEMA))


def _rooted(element: tuple[int, dict[str, Iterable[pa.Table]]], shards: int) -> Iterator[Any]:
    _, groups = element
    stats = concat(groups["stats"], NODE_STATS_SCHEMA)
    labels = concat(groups["labels"], LABEL_SCHEMA)
    rooted = with_roots(stats, labels)
    yield from split_by_shard(rooted, int_shards(rooted.column("root"), shards))


def _minted(element: tuple[int, Iterable[pa.Table]], shards: int) -> Iterator[Any]:
    _, tables = element
    resolved = mint_customers(pa.concat_tables(list(tables)))
    yield from split_by_shard(resolved, int_shards(resolved.column("node"), shards))


class _Assign(beam.DoFn):
    def process(self, element: tuple[int, dict[str, Iterable[pa.Table]]]) -> Iterator[Any]:
        _, groups = element
        events = concat(groups["events"], KEYED_EVENT_SCHEMA)
        resolved = concat(groups["resolved"], RESOLVED_SCHEMA)
        assigned, missing = assign_customers(events, resolved)
        if assigned.num_rows:
            yield assigned
        if missing:
            yield beam.pvalue.TaggedOutput(UNASSIGNED, missing)


class ResolveIdentities(beam.PTransform):
    """De-duplicated event tables → events with customer ids (main), ``identity`` tables
    (one row per identifier with its customer), and ``unconverged``/``unassigned`` counts."""

    def __init__(self, shards: int, max_rounds: int) -> None:
        super().__init__()
        self.shards = shards
        self.max_rounds = max_rounds

    def expand(self, events: beam.PCollection) -> dict[str, beam.PCollection]:
        shards = self.shards
        graph = events | "BuildGraph" >> beam.ParDo(_Graph(shards)).with_outputs(
            _Graph.EDGES, _Graph.NODES, main="events"
        )
        components = graph[_Graph.EDGES] | "Components" >> ConnectedComponents(
            shards, self.max_rounds
        )
        stats = (
            graph[_Graph.NODES]
            | "GroupNodes" >> beam.GroupByKey()
            | "NodeStats" >> beam.FlatMap(_stats)
        )
        resolved = (
            {"stats": stats, "labels": components.labels}
            | "JoinRoots" >> beam.CoGroupByKey()
            | "KeyByRoot" >> beam.FlatMap(_rooted, shards)
            | "GroupComponents" >> beam.GroupByKey()
            | "MintCustomerIds" >> beam.FlatMap(_minted, shards)
        )
        assigned = (
            {"events": graph.events, "resolved": resolved}
            | "JoinEvents" >> beam.CoGroupByKey()
            | "AssignCustomers" >> beam.ParDo(_Assign()).with_outputs(UNASSIGNED, main="events")
        )
        identity = resolved | "IdentityRows" >> beam.Values()
        return {
            "events": assigned.events,
            "identity": identity,
            "unconverged": components[UNCONVERGED],
            "unassigned": assigned[UNASSIGNED],
        }
