"""Identity resolution: identifiers → graph → guarded components → stable customer ids → events.

Every event links the identifiers it carries (a clique, so refusing one of them
never unlinks the others). The graph merges with the stored graph of earlier
runs, so an incremental run never re-reads old events. Then, distributed:

1. a super-node guard refuses identifiers linked to more identifiers than a
   customer may hold (``identity.max_component_size``);
2. connected components over the kept edges (``ConnectedComponents``);
3. the few components that could break a guard are split on one worker each by
   ``transforms.guards`` (shared identifiers, per-type limits, the size cap);
4. each resulting customer gets the id of its earliest identifier (first
   received, then first seen, type, value), so an unaffected customer keeps its
   id as data grows and the older id survives a merge;
5. each event goes to the customer of its strongest identifier that was not
   refused (``identity.priority``).

``account_id`` is not an identifier and never links people; blocked values were
dropped by the row contract.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeyline.config import IdentityConfig
from journeyline.schema import (
    EVENT_SCHEMA,
    IDENTITY_EDGES_SCHEMA,
    IDENTITY_MAP_SCHEMA,
    TIMESTAMP,
)
from transforms.batches import (
    KeyedTable,
    PerSideInput,
    SortedKeys,
    concat,
    group_starts,
    int_shards,
    lookup,
    split_by_shard,
    string_shards,
)
from transforms.components import LABEL_SCHEMA, UNCONVERGED, ConnectedComponents
from transforms.guards import SUPER_NODE, GuardRules, needs_guarding, resolve_component
from transforms.identifiers import customer_id_for, node_ids
from transforms.pooled import PooledDoFn

MAX_CLIQUE = 8  # an event with more identifiers links them as a star around the first
STATS_SCHEMA = pa.schema(
    [
        pa.field("node", pa.int64(), False),
        pa.field("identifier_type", pa.string(), False),
        pa.field("identifier_value", pa.string(), False),
        pa.field("first_seen_at", TIMESTAMP, False),
        pa.field("last_seen_at", TIMESTAMP, False),
        pa.field("first_received_at", TIMESTAMP, False),
    ]
)
ROOTED_SCHEMA = STATS_SCHEMA.append(pa.field("degree", pa.int64(), False)).append(
    pa.field("root", pa.int64(), False)
)
ROOTED_EDGE_SCHEMA = IDENTITY_EDGES_SCHEMA.append(pa.field("root", pa.int64(), False))
OCCURRENCE_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), False),
        pa.field("node", pa.int64(), False),
        pa.field("rank", pa.int32(), False),
    ]
)
CANDIDATE_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), False),
        pa.field("refused", pa.bool_(), False),
        pa.field("rank", pa.int32(), False),
        pa.field("customer_id", pa.string(), False),
        pa.field("customer_key", pa.int64(), False),
    ]
)
ASSIGNED_EVENT_SCHEMA = EVENT_SCHEMA.append(pa.field("customer_id", pa.string(), False)).append(
    pa.field("customer_key", pa.int64(), False)
)
UNASSIGNED = "unassigned"
CONFLICTS = "conflicts"


def guard_rules(config: IdentityConfig) -> GuardRules:
    return GuardRules(
        limits=dict(config.limits),
        max_component_size=config.max_component_size,
        person_types=frozenset(config.person_types),
        shareable_types=frozenset(config.shareable_types),
        shared_guard=config.shared_guard,
    )


# --- plain functions over Arrow tables --------------------------------------------------


def flatten_identifiers(
    column: pa.ChunkedArray | pa.Array,
) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """(row index, type, value) for every identifier of every row of a map column."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    offsets = arr.offsets.to_numpy()
    start, length = int(offsets[0]), int(offsets[-1] - offsets[0])
    parent = np.repeat(np.arange(len(arr), dtype=np.int64), np.diff(offsets))
    return parent, arr.keys.slice(start, length), arr.items.slice(start, length)


# The node ids of event tables' identifiers, by table (``_nodes_of``), while the table lives.
_TABLE_NODES: dict[int, np.ndarray] = {}


def _nodes_of(events: pa.Table, types: pa.Array, values: pa.Array) -> np.ndarray:
    """``node_ids`` of an event table's flattened identifiers, computed once per table.

    The identity graph and the customer assignment read the same event tables (on the
    local runner the very same objects: tables go from step to step by reference), and
    hashing the identifiers into node ids took 40–60% of each step's CPU at 1M. Tables are
    immutable, so the ids (read-only) are kept by the table's identity until it is freed.
    """
    key = id(events)
    nodes = _TABLE_NODES.get(key)
    if nodes is None:
        nodes = node_ids(types, values)
        nodes.flags.writeable = False
        _TABLE_NODES[key] = nodes
        weakref.finalize(events, _TABLE_NODES.pop, key, None)
    return nodes


def _ranks(types: pa.Array, priority: tuple[str, ...]) -> pa.Array:
    """Each identifier's strength: its type's place in ``priority`` (unlisted types last)."""
    ranks = pc.index_in(types, value_set=pa.array(priority, pa.string()))
    return ranks.fill_null(len(priority)).cast(pa.int32())


def _occurrences(
    events: pa.Table,
    parent: np.ndarray,
    types: pa.Array,
    values: pa.Array,
    priority: tuple[str, ...],
) -> tuple[pa.Table, np.ndarray]:
    """(occurrences, node ids) of flattened identifiers: which identifiers each event carries
    and how strong each is (its place in ``priority``; unlisted types rank last)."""
    nodes = _nodes_of(events, types, values)
    occurrences = pa.Table.from_arrays(
        [
            events.column("event_id").take(pa.array(parent)),
            pa.array(nodes),
            _ranks(types, priority),
        ],
        schema=OCCURRENCE_SCHEMA,
    )
    return occurrences, nodes


def occurrences_of(events: pa.Table, priority: tuple[str, ...]) -> pa.Table:
    """The occurrences of an event table (``graph_of``'s first output alone)."""
    parent, types, values = flatten_identifiers(events.column("identifiers"))
    return _occurrences(events, parent, types, values, priority)[0]


def linked_pairs(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (a, b), a < b, of the identifiers each event links, for all events at once:
    every pair of an event's identifiers (a clique) up to ``MAX_CLIQUE``, else a star around
    its first. ``parent`` is each identifier's event, in runs (a map column's layout)."""
    if not len(parent):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]])
    sizes = np.diff(np.r_[starts, len(parent)])
    firsts, seconds = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for k in np.unique(sizes[sizes >= 2]).tolist():
        at = starts[sizes == k][:, None]
        a, b = np.triu_indices(k, 1) if k <= MAX_CLIQUE else (np.zeros(k - 1, int), np.arange(1, k))
        firsts.append((at + a).ravel())
        seconds.append((at + b).ravel())
    return np.concatenate(firsts), np.concatenate(seconds)


def graph_of(events: pa.Table, priority: tuple[str, ...]) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(occurrences, node stats, edges) of an event table.

    Occurrences say which identifiers each event carries and how strong each is;
    node stats are per-occurrence (merged later); edges join every pair of an
    event's identifiers (a star around the first beyond ``MAX_CLIQUE``).
    """
    parent, types, values = flatten_identifiers(events.column("identifiers"))
    occurrences, nodes = _occurrences(events, parent, types, values, priority)
    take = pa.array(parent)
    occurred = events.column("occurred_at").take(take)
    received = events.column("received_at").take(take)
    stats = pa.Table.from_arrays(
        [pa.array(nodes), types, values, occurred, occurred, received],
        schema=STATS_SCHEMA,
    )
    a, b = linked_pairs(parent)
    distinct = nodes[a] != nodes[b]
    a, b = a[distinct], b[distinct]
    edges = pa.Table.from_arrays(
        [
            pa.array(np.minimum(nodes[a], nodes[b])),
            pa.array(np.maximum(nodes[a], nodes[b])),
            received.take(pa.array(a)),
            pa.array(np.ones(len(a), np.int64)),
        ],
        schema=IDENTITY_EDGES_SCHEMA,
    )
    return occurrences, stats, edges


def merge_stats(stats: pa.Table) -> pa.Table:
    """One row per node: first/last seen and first received over all its rows."""
    if not stats.num_rows:
        return STATS_SCHEMA.empty_table()
    merged = stats.group_by("node", use_threads=False).aggregate(
        [
            ("identifier_type", "min"),
            ("identifier_value", "min"),
            ("first_seen_at", "min"),
            ("last_seen_at", "max"),
            ("first_received_at", "min"),
        ]
    )
    return pa.Table.from_arrays(
        [
            merged.column(c)
            for c in (
                "node",
                "identifier_type_min",
                "identifier_value_min",
                "first_seen_at_min",
                "last_seen_at_max",
                "first_received_at_min",
            )
        ],
        schema=STATS_SCHEMA,
    )


def merge_edges(edges: pa.Table) -> pa.Table:
    """One row per pair: the earliest evidence and how many events carried the pair."""
    if not edges.num_rows:
        return IDENTITY_EDGES_SCHEMA.empty_table()
    merged = edges.group_by(["u", "v"], use_threads=False).aggregate(
        [("first_received_at", "min"), ("evidence", "sum")]
    )
    return pa.Table.from_arrays(
        [
            merged.column("u"),
            merged.column("v"),
            merged.column("first_received_at_min"),
            merged.column("evidence_sum"),
        ],
        schema=IDENTITY_EDGES_SCHEMA,
    ).sort_by([("u", "ascending"), ("v", "ascending")])


def degrees(edges: pa.Table) -> pa.Table:
    """Distinct neighbours per node of de-duplicated edges."""
    ends = pa.concat_arrays(
        [edges.column("u").combine_chunks(), edges.column("v").combine_chunks()]
    )
    counts = pc.value_counts(ends)
    return pa.table({"node": counts.field("values"), "degree": counts.field("counts")})


def root_nodes(stats: pa.Table, degree: pa.Table, labels: pa.Table) -> pa.Table:
    """Node stats with degree and component root (a node on no kept edge is its own root)."""
    nodes = stats.column("node").to_numpy()
    at, found = lookup(nodes, degree.column("node").to_numpy())
    deg = np.where(found, degree.column("degree").to_numpy()[at] if degree.num_rows else 0, 0)
    at, found = lookup(nodes, labels.column("node").to_numpy())
    root = np.where(
        found, labels.column("root").to_numpy()[at] if labels.num_rows else nodes, nodes
    )
    return stats.append_column("degree", pa.array(deg, pa.int64())).append_column(
        "root", pa.array(root, pa.int64())
    )


def _mint(nodes: pa.Table, group: np.ndarray, refused: list[str | None]) -> pa.Table:
    """Customer id per node: the id of its group's earliest identifier."""
    table = nodes.append_column("group", pa.array(group, pa.int64()))
    ordered = table.sort_by(
        [
            ("group", "ascending"),
            ("first_received_at", "ascending"),
            ("first_seen_at", "ascending"),
            ("identifier_type", "ascending"),
            ("identifier_value", "ascending"),
        ]
    )
    founders = ordered.filter(pa.array(group_starts(ordered.column("group"))))
    ids = [
        customer_id_for(t, v)
        for t, v in zip(
            founders.column("identifier_type").to_pylist(),
            founders.column("identifier_value").to_pylist(),
            strict=True,
        )
    ]
    at, _ = lookup(group, founders.column("group").to_numpy())
    return pa.Table.from_arrays(
        [
            nodes.column("identifier_type"),
            nodes.column("identifier_value"),
            pa.array(ids, pa.string()).take(pa.array(at)),
            nodes.column("first_seen_at"),
            nodes.column("last_seen_at"),
            nodes.column("first_received_at"),
            nodes.column("node"),
            founders.column("node").take(pa.array(at)),
            nodes.column("degree"),
            pa.array(refused, pa.string()),
        ],
        schema=IDENTITY_MAP_SCHEMA,
    )


def resolve_components(
    nodes: pa.Table, edges: pa.Table, rules: GuardRules
) -> tuple[pa.Table, list[dict[str, Any]]]:
    """Guard and mint whole components: ``nodes`` (ROOTED_SCHEMA) and their kept ``edges``
    (ROOTED_EDGE_SCHEMA). Returns identity rows and conflict rows (customer ids filled)."""
    if not nodes.num_rows:
        return IDENTITY_MAP_SCHEMA.empty_table(), []
    nodes = nodes.sort_by([("root", "ascending"), ("node", "ascending")])
    ids = nodes.column("node").to_numpy()
    roots = nodes.column("root").to_numpy()
    types = nodes.column("identifier_type").to_pylist()
    degree = nodes.column("degree").to_numpy()
    group = roots.copy()
    refused: list[str | None] = [None] * len(ids)
    refusals: list[tuple[int, int | None, str, str]] = []
    for i in np.flatnonzero(degree + 1 > rules.max_component_size):
        group[i], refused[i] = ids[i], SUPER_NODE
        refusals.append(
            (
                int(ids[i]),
                None,
                SUPER_NODE,
                f"linked to {int(degree[i])} identifiers; a customer may hold "
                f"{rules.max_component_size}",
            )
        )
    starts = np.flatnonzero(group_starts(pa.array(roots)))
    ends = np.r_[starts[1:], len(roots)]
    edges = edges.sort_by(
        [
            ("root", "ascending"),
            ("first_received_at", "ascending"),
            ("u", "ascending"),
            ("v", "ascending"),
        ]
    )
    edge_roots = edges.column("root").to_numpy()
    eu, ev = edges.column("u").to_numpy(), edges.column("v").to_numpy()
    for start, end in zip(starts, ends, strict=True):
        if end - start < 2:
            continue
        members = slice(start, end)
        counts = Counter(types[start:end])
        if not needs_guarding(counts, end - start, rules):
            continue
        lo, hi = (
            np.searchsorted(edge_roots, roots[start], "left"),
            np.searchsorted(edge_roots, roots[start], "right"),
        )
        local = {int(n): k for k, n in enumerate(ids[members])}
        pairs = [
            (local[int(a)], local[int(b)])
            for a, b in zip(eu[lo:hi], ev[lo:hi], strict=True)
            if int(a) in local and int(b) in local
        ]
        result = resolve_component(types[start:end], list(ids[members]), pairs, rules)
        smallest: dict[int, int] = {}
        for k, g in enumerate(result.groups):
            smallest[g] = min(smallest.get(g, ids[start + k]), ids[start + k])
        for k, g in enumerate(result.groups):
            group[start + k] = ids[start + k] if k in result.refused_nodes else smallest[g]
        for k, rule in result.refused_nodes.items():
            refused[start + k] = rule
            refusals.append(
                (
                    int(ids[start + k]),
                    None,
                    rule,
                    "the only link between identifiers of different people",
                )
            )
        for a, b, rule in result.refused_edges:
            refusals.append(
                (int(ids[start + a]), int(ids[start + b]), rule, "merging would exceed the limit")
            )
    resolved = _mint(nodes.select([*STATS_SCHEMA.names, "degree"]), group, refused)
    return resolved, _conflict_rows(resolved, refusals)


def _conflict_rows(
    resolved: pa.Table, refusals: list[tuple[int, int | None, str, str]]
) -> list[dict]:
    if not refusals:
        return []
    by_node = {
        n: (t, v, c)
        for n, t, v, c in zip(
            resolved.column("node").to_pylist(),
            resolved.column("identifier_type").to_pylist(),
            resolved.column("identifier_value").to_pylist(),
            resolved.column("customer_id").to_pylist(),
            strict=True,
        )
    }
    rows = []
    for a, b, rule, detail in refusals:
        t, v, c = by_node[a]
        other = by_node.get(b) if b is not None else None
        rows.append(
            {
                "rule": rule,
                "identifier_type": t,
                "identifier_value": v,
                "customer_id": c,
                "other_identifier_type": other[0] if other else None,
                "other_identifier_value": other[1] if other else None,
                "other_customer_id": other[2] if other else None,
                "detail": detail,
            }
        )
    return rows


def _customers_at(resolved: pa.Table, take: pa.Array) -> list[pa.Array]:
    """(refused, customer_id, customer_key) of the resolved identifiers at rows ``take``."""
    return [
        pc.is_valid(resolved.column("refused_rule").take(take)),
        resolved.column("customer_id").take(take),
        resolved.column("customer_key").take(take),
    ]


def candidates(
    occurrences: pa.Table, resolved: pa.Table, nodes: SortedKeys | None = None
) -> pa.Table:
    """Each occurrence with its identifier's customer (and whether the identifier was refused).
    ``nodes``: ``resolved``'s node column, sorted ahead (for many tables looked up in it)."""
    nodes = nodes or SortedKeys(resolved.column("node").to_numpy())
    at, found = nodes.find(occurrences.column("node").to_numpy())
    occurrences, at = occurrences.filter(pa.array(found)), at[found]
    refused, customer_id, customer_key = _customers_at(resolved, pa.array(at, pa.int64()))
    return pa.Table.from_arrays(
        [
            occurrences.column("event_id"),
            refused,
            occurrences.column("rank"),
            customer_id,
            customer_key,
        ],
        schema=CANDIDATE_SCHEMA,
    )


# An event's best candidate: not refused, then the strongest identifier, then customer_id.
_BEST = [("refused", "ascending"), ("rank", "ascending"), ("customer_id", "ascending")]


def _with_customers(events: pa.Table, at: pa.Array, best: pa.Table) -> tuple[pa.Table, int]:
    """``events`` with the customer of ``best`` row ``at`` each (null ``at``: dropped, counted)."""
    found = pc.is_valid(at)
    missing = events.num_rows - pc.sum(found).as_py() if events.num_rows else 0
    if missing:
        events, at = events.filter(found), at.filter(found)
    out = events.select(EVENT_SCHEMA.names)
    out = out.append_column("customer_id", best.column("customer_id").take(at))
    out = out.append_column("customer_key", best.column("customer_key").take(at))
    return out.cast(ASSIGNED_EVENT_SCHEMA), int(missing)


def assign(events: pa.Table, options: pa.Table) -> tuple[pa.Table, int]:
    """Attach to each event the customer of its best candidate: not refused, then strongest."""
    ordered = options.sort_by([("event_id", "ascending"), *_BEST])
    best = ordered.filter(pa.array(group_starts(ordered.column("event_id"))))
    at = pc.index_in(events.column("event_id"), value_set=best.column("event_id"))
    return _with_customers(events, at, best)


def assign_in_place(
    events: pa.Table, priority: tuple[str, ...], resolved: pa.Table, nodes: SortedKeys
) -> tuple[pa.Table, int]:
    """``assign(events, candidates(occurrences_of(events, priority), resolved, nodes))`` for
    a table whose event ids are unique, by row position instead of event id.

    Each identifier's candidate keeps the position of its event's row, so the best candidate
    of each row is found by sorting integers first, and no event id is copied, sorted or
    hashed: with the event ids first, the string sort and lookup took half of the step.
    """
    parent, types, values = flatten_identifiers(events.column("identifiers"))
    at, found = nodes.find(_nodes_of(events, types, values))
    refused, customer_id, customer_key = _customers_at(resolved, pa.array(at[found], pa.int64()))
    options = pa.table(
        {
            "row": pa.array(parent[found], pa.int64()),
            "refused": refused,
            "rank": _ranks(types, priority).filter(pa.array(found)),
            "customer_id": customer_id,
            "customer_key": customer_key,
        }
    )
    ordered = options.sort_by([("row", "ascending"), *_BEST])
    starts = group_starts(ordered.column("row"))
    best = ordered.filter(pa.array(starts))
    best_of_row = np.full(events.num_rows, -1, np.int64)  # -1: the row has no candidate
    best_of_row[best.column("row").to_numpy()] = np.arange(best.num_rows)
    return _with_customers(events, pa.array(best_of_row, mask=best_of_row < 0), best)


# --- Beam wiring -------------------------------------------------------------------------


def _by(table: pa.Table, column: str, shards: int) -> Iterator[tuple[int, pa.Table]]:
    """Split a table by the shard of an int64 column."""
    yield from split_by_shard(table, int_shards(table.column(column), shards))


class ExtractGraph(PooledDoFn):
    """Keyed event tables → occurrences (main, by node shard) and, unless ``occurrences_only``,
    node stats (by node shard) and edges (by the shard of their smaller end); on a pool
    thread (see ``PooledDoFn``)."""

    STATS = "stats"
    EDGES = "edges"

    def __init__(
        self, shards: int, priority: tuple[str, ...], occurrences_only: bool = False
    ) -> None:
        self.shards = shards
        self.priority = priority
        self.occurrences_only = occurrences_only

    @classmethod
    def step(
        cls, shards: int, priority: tuple[str, ...], occurrences_only: bool = False
    ) -> beam.ParDo:
        """The step, its outputs' types declared (tables go through ArrowTableCoder)."""
        step = beam.ParDo(cls(shards, priority, occurrences_only)).with_output_types(
            KeyedTable, **{cls.STATS: KeyedTable, cls.EDGES: KeyedTable}
        )
        if occurrences_only:
            return step
        return step.with_outputs(cls.STATS, cls.EDGES, main="occurrences")

    def work(self, element: tuple[int, pa.Table]) -> list[Any]:
        return list(self._outputs(element))

    def _outputs(self, element: tuple[int, pa.Table]) -> Iterator[Any]:
        _, events = element
        occurrences, stats, edges = graph_of(events, self.priority)
        yield from _by(occurrences, "node", self.shards)
        if self.occurrences_only:
            return
        for item in _by(stats, "node", self.shards):
            yield beam.pvalue.TaggedOutput(self.STATS, item)
        for item in _by(edges, "u", self.shards):
            yield beam.pvalue.TaggedOutput(self.EDGES, item)


def _merged_stats(element: tuple[int, Iterable[pa.Table]]) -> Iterator[tuple[int, pa.Table]]:
    shard, tables = element
    yield shard, merge_stats(concat(tables, STATS_SCHEMA))


def _merged_edges(element: tuple[int, Iterable[pa.Table]]) -> Iterator[pa.Table]:
    _, tables = element
    merged = merge_edges(concat(tables, IDENTITY_EDGES_SCHEMA))
    if merged.num_rows:
        yield merged


def _ends(edges: pa.Table, shards: int) -> Iterator[tuple[int, pa.Table]]:
    ends = pa.table(
        {
            "node": pa.concat_arrays(
                [edges.column("u").combine_chunks(), edges.column("v").combine_chunks()]
            )
        }
    )
    yield from _by(ends, "node", shards)


def _degrees(element: tuple[int, Iterable[pa.Table]]) -> Iterator[tuple[int, pa.Table]]:
    shard, tables = element
    ends = pa.concat_tables(list(tables)).column("node")
    counts = pc.value_counts(ends)
    yield shard, pa.table({"node": counts.field("values"), "degree": counts.field("counts")})


def _super_nodes(element: tuple[int, pa.Table], max_size: int) -> Iterator[int]:
    _, table = element
    mask = pc.greater(pc.add(table.column("degree"), 1), max_size)
    yield from table.column("node").filter(mask).to_pylist()


class _KeepEdges(beam.DoFn):
    """Edges not touching a super-node (the few super-nodes arrive as a side input)."""

    def process(self, edges: pa.Table, refused: list[int]) -> Iterator[pa.Table]:
        if refused:
            blocked = pa.array(refused, pa.int64())
            keep = pc.invert(
                pc.or_(
                    pc.is_in(edges.column("u"), value_set=blocked),
                    pc.is_in(edges.column("v"), value_set=blocked),
                )
            )
            edges = edges.filter(keep)
        if edges.num_rows:
            yield edges


def _rooted(element: tuple[int, dict[str, Iterable[pa.Table]]], shards: int) -> Iterator[Any]:
    _, groups = element
    stats = concat(groups["stats"], STATS_SCHEMA)
    degree = concat(groups["degree"], pa.schema([("node", pa.int64()), ("degree", pa.int64())]))
    labels = concat(groups["labels"], LABEL_SCHEMA)
    yield from _by(root_nodes(stats, degree, labels), "root", shards)


def _rooted_edges(element: tuple[int, dict[str, Iterable[pa.Table]]], shards: int) -> Iterator[Any]:
    _, groups = element
    edges = concat(groups["edges"], IDENTITY_EDGES_SCHEMA)
    labels = concat(groups["labels"], LABEL_SCHEMA)
    if not edges.num_rows:
        return
    u = edges.column("u").to_numpy()
    at, found = lookup(u, labels.column("node").to_numpy())
    root = np.where(found, labels.column("root").to_numpy()[at] if labels.num_rows else u, u)
    yield from _by(edges.append_column("root", pa.array(root, pa.int64())), "root", shards)


class _Resolve(beam.DoFn):
    def __init__(self, rules: GuardRules, shards: int) -> None:
        self.rules = rules
        self.shards = shards

    def process(self, element: tuple[int, dict[str, Iterable[pa.Table]]]) -> Iterator[Any]:
        _, groups = element
        nodes = concat(groups["nodes"], ROOTED_SCHEMA)
        edges = concat(groups["edges"], ROOTED_EDGE_SCHEMA)
        resolved, conflicts = resolve_components(nodes, edges, self.rules)
        yield from _by(resolved, "node", self.shards)
        for row in conflicts:
            yield beam.pvalue.TaggedOutput(CONFLICTS, row)


def _edge_key(edges: pa.Table, shards: int) -> Iterator[tuple[int, pa.Table]]:
    yield from _by(edges, "u", shards)


class ResolveIdentities(beam.PTransform):
    """New events (keyed tables) plus the stored graph → resolved identifiers.

    Inputs: ``{"events": …, "previous_stats": …, "previous_edges": …}`` (keyed tables; the
    previous ones may be empty). Outputs: ``resolved`` (identity rows keyed by node shard),
    ``occurrences`` (of the new events, keyed by node shard), ``edges`` (the merged graph),
    ``conflicts`` (refusal rows) and ``unconverged`` (counts).
    """

    def __init__(self, shards: int, config: IdentityConfig, gather: bool = False) -> None:
        super().__init__()
        self.shards = shards
        self.config = config
        self.gather = gather  # connected components in one step (see ConnectedComponents)

    def expand(self, inputs: dict[str, beam.PCollection]) -> dict[str, beam.PCollection]:
        shards, config = self.shards, self.config
        # Every step that emits tables declares it (KeyedTable, pa.Table): their shuffles
        # and joins then go through ArrowTableCoder (by reference on the local runner), where
        # an undeclared table would be pickled, copy and all.
        graph = inputs["events"] | "ExtractGraph" >> ExtractGraph.step(shards, config.priority)
        stats = (
            (graph[ExtractGraph.STATS], inputs["previous_stats"])
            | "AllStats" >> beam.Flatten()
            | "GroupStats" >> beam.GroupByKey()
            | "MergeStats" >> beam.FlatMap(_merged_stats).with_output_types(KeyedTable)
        )
        edges = (
            (graph[ExtractGraph.EDGES], inputs["previous_edges"])
            | "AllEdges" >> beam.Flatten()
            | "GroupEdges" >> beam.GroupByKey()
            | "MergeEdges" >> beam.FlatMap(_merged_edges).with_output_types(pa.Table)
        )
        degree = (
            edges
            | "EdgeEnds" >> beam.FlatMap(_ends, shards).with_output_types(KeyedTable)
            | "GroupEnds" >> beam.GroupByKey()
            | "Degrees" >> beam.FlatMap(_degrees).with_output_types(KeyedTable)
        )
        super_nodes = degree | "SuperNodes" >> beam.FlatMap(_super_nodes, config.max_component_size)
        kept = edges | "KeepEdges" >> beam.ParDo(
            _KeepEdges(), beam.pvalue.AsList(super_nodes)
        ).with_output_types(pa.Table)
        components = kept | "Components" >> ConnectedComponents(
            shards, config.max_rounds, self.gather
        )
        rooted = (
            {"stats": stats, "degree": degree, "labels": components.labels}
            | "JoinRoots" >> beam.CoGroupByKey()
            | "KeyByRoot" >> beam.FlatMap(_rooted, shards).with_output_types(KeyedTable)
        )
        rooted_edges = (
            {
                "edges": kept
                | "KeyEdges" >> beam.FlatMap(_edge_key, shards).with_output_types(KeyedTable),
                "labels": components.labels,
            }
            | "JoinEdgeRoots" >> beam.CoGroupByKey()
            | "KeyEdgesByRoot" >> beam.FlatMap(_rooted_edges, shards).with_output_types(KeyedTable)
        )
        resolved = (
            {"nodes": rooted, "edges": rooted_edges}
            | "GroupComponents" >> beam.CoGroupByKey()
            | "GuardAndMint"
            >> beam.ParDo(_Resolve(guard_rules(config), shards))
            .with_output_types(KeyedTable)
            .with_outputs(CONFLICTS, main="resolved")
        )
        return {
            "resolved": resolved.resolved,
            "occurrences": graph.occurrences,
            "edges": edges,
            "conflicts": resolved[CONFLICTS],
            "unconverged": components[UNCONVERGED],
        }


def _candidates(element: tuple[int, dict[str, Iterable[pa.Table]]], shards: int) -> Iterator[Any]:
    _, groups = element
    occurrences = concat(groups["occurrences"], OCCURRENCE_SCHEMA)
    resolved = concat(groups["resolved"], IDENTITY_MAP_SCHEMA)
    options = candidates(occurrences, resolved)
    yield from split_by_shard(options, string_shards(options.column("event_id"), shards))


class _Assign(beam.DoFn):
    def process(self, element: tuple[int, dict[str, Iterable[pa.Table]]]) -> Iterator[Any]:
        _, groups = element
        events = concat(groups["events"], EVENT_SCHEMA)
        options = concat(groups["options"], CANDIDATE_SCHEMA)
        assigned, missing = assign(events, options)
        if assigned.num_rows:
            yield assigned
        if missing:
            yield beam.pvalue.TaggedOutput(UNASSIGNED, missing)


def _resolved_index(tables: list[pa.Table]) -> tuple[pa.Table, SortedKeys]:
    """The resolved identifiers as one table, and its node ids sorted for lookups."""
    resolved = concat(tables, IDENTITY_MAP_SCHEMA)
    return resolved, SortedKeys(resolved.column("node").to_numpy())


class _AssignBroadcast(PooledDoFn):
    """Assign with every resolved identifier at hand (a side input): no shuffle of the events;
    on a pool thread (see ``PooledDoFn``)."""

    def __init__(self, priority: tuple[str, ...]) -> None:
        self.priority = priority
        self._resolved = PerSideInput(_resolved_index)

    def prepare(self, resolved: list[pa.Table]) -> tuple[pa.Table, SortedKeys]:
        return self._resolved(resolved)

    def work(
        self, element: tuple[int, pa.Table], resolved: pa.Table, keys: SortedKeys
    ) -> list[Any]:
        _, events = element
        assigned, missing = assign_in_place(events, self.priority, resolved, keys)
        outputs: list[Any] = [assigned] if assigned.num_rows else []
        if missing:
            outputs.append(beam.pvalue.TaggedOutput(UNASSIGNED, missing))
        return outputs


class AssignCustomers(beam.PTransform):
    """Events + their occurrences + resolved identifiers → event tables with customer ids
    (main) and a count of events that found none.

    Two joins give the same result. ``shuffle`` groups events, occurrences and resolved
    identifiers by shard, so no worker holds more than its shards (the scalable default); it
    needs the events keyed by event-id shard, as de-duplication's shuffle plan leaves them.
    ``broadcast`` hands every worker all resolved identifiers (one row per identifier) as a
    side input and assigns each event table where it is, so the events are not shuffled:
    what the single-process local runner wants, since it holds everything anyway.
    """

    def __init__(
        self, shards: int, broadcast: bool = False, priority: tuple[str, ...] = ()
    ) -> None:
        super().__init__()
        self.shards = shards
        self.broadcast = broadcast
        self.priority = priority

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.pvalue.DoOutputsTuple:
        shards = self.shards
        if self.broadcast:
            resolved = beam.pvalue.AsList(
                inputs["resolved"] | "ResolvedTables" >> beam.Values().with_output_types(pa.Table)
            )
            return inputs["events"] | "PickCustomer" >> beam.ParDo(
                _AssignBroadcast(self.priority), resolved
            ).with_output_types(pa.Table).with_outputs(UNASSIGNED, main="events")
        options = (
            {"occurrences": inputs["occurrences"], "resolved": inputs["resolved"]}
            | "JoinIdentifiers" >> beam.CoGroupByKey()
            | "Candidates" >> beam.FlatMap(_candidates, shards).with_output_types(KeyedTable)
        )
        return (
            {"events": inputs["events"], "options": options}
            | "JoinEvents" >> beam.CoGroupByKey()
            | "PickCustomer"
            >> beam.ParDo(_Assign())
            .with_output_types(pa.Table)
            .with_outputs(UNASSIGNED, main="events")
        )
