"""Identity resolution one step at a time: the batch functions over a graph held in state.

The stream keeps the identity graph (node stats, merged edges) and its resolution. Each
step adds the identifiers and links of newly accepted events with the batch functions
(``graph_of``, ``merge_stats``, ``merge_edges``, the super-node guard, connected
components by the same large-star/small-star steps, ``resolve_components``), then
re-resolves only the components that changed: those holding a node whose stats changed
or whose component (root) changed, and the rest of the components such nodes came from.
An untouched component has the same nodes, edges and stats as before, so its resolution
is unchanged; a re-resolved one gets exactly what a batch run over all events would give
it. Customer ids therefore equal batch's, including the older id surviving a merge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeyline.config import IdentityConfig
from journeyline.errors import PipelineError
from journeyline.schema import IDENTITY_EDGES_SCHEMA, IDENTITY_MAP_SCHEMA
from transforms.batches import concat, lookup
from transforms.components import (
    LABEL_SCHEMA,
    large_star,
    small_star,
    star_violations,
    unique_pairs,
)
from transforms.identity import (
    ROOTED_EDGE_SCHEMA,
    STATS_SCHEMA,
    degrees,
    graph_of,
    guard_rules,
    merge_edges,
    merge_stats,
    resolve_components,
    root_nodes,
)
from transforms.restitch import changed_customers

ROOTS_SCHEMA = LABEL_SCHEMA  # (node, root) for every node


@dataclass(frozen=True)
class IdentityGraph:
    """The identity state: node stats, merged edges, each node's component root, and the
    resolved identity rows (one per node, IDENTITY_MAP_SCHEMA)."""

    nodes: pa.Table
    edges: pa.Table
    roots: pa.Table
    resolved: pa.Table

    @classmethod
    def empty(cls) -> IdentityGraph:
        return cls(
            STATS_SCHEMA.empty_table(),
            IDENTITY_EDGES_SCHEMA.empty_table(),
            ROOTS_SCHEMA.empty_table(),
            IDENTITY_MAP_SCHEMA.empty_table(),
        )

    @classmethod
    def from_published(
        cls, identity_map: pa.Table, edges: pa.Table, config: IdentityConfig
    ) -> IdentityGraph:
        """The graph a published lake state holds (its identity_map and identity_edges)."""
        resolved = identity_map.select(IDENTITY_MAP_SCHEMA.names).cast(IDENTITY_MAP_SCHEMA)
        nodes = resolved.select(STATS_SCHEMA.names).cast(STATS_SCHEMA)
        edges = edges.select(IDENTITY_EDGES_SCHEMA.names).cast(IDENTITY_EDGES_SCHEMA)
        degree, kept = _kept_edges(edges, config.max_component_size)
        rooted = root_nodes(nodes, degree, component_labels(kept, config.max_rounds))
        return cls(nodes, edges, rooted.select(["node", "root"]), resolved)


@dataclass(frozen=True)
class IdentityStep:
    """What one step changed: the new graph, the events' identifier occurrences, and the
    customer ids (old and new) whose identifiers changed customer or appeared."""

    graph: IdentityGraph
    occurrences: pa.Table
    changed: set[str]
    conflicts: int


def component_labels(edges: pa.Table, max_rounds: int) -> pa.Table:
    """(node, root) for every node on an edge, root = smallest node of its component, by the
    batch's alternating large-star / small-star steps run on one worker until star-shaped."""
    u = edges.column("u").to_numpy()
    v = edges.column("v").to_numpy()
    keep = u != v
    leaf, centre = unique_pairs(np.maximum(u[keep], v[keep]), np.minimum(u[keep], v[keep]))
    for _ in range(max_rounds):
        if not len(leaf) or not len(star_violations(leaf, centre)):
            break
        both_u = np.concatenate([leaf, centre])
        both_v = np.concatenate([centre, leaf])
        big, small = large_star(both_u, both_v)
        leaf, centre = small_star(big, small)
    else:
        if len(leaf) and len(star_violations(leaf, centre)):
            raise PipelineError(
                f"identity: components did not converge in {max_rounds} rounds",
                "raise identity.max_rounds in journeyline.yml",
            )
    leaf, centre = unique_pairs(leaf, centre)
    first = np.r_[True, leaf[1:] != leaf[:-1]] if len(leaf) else np.zeros(0, bool)
    return pa.Table.from_arrays(
        [pa.array(leaf[first], pa.int64()), pa.array(centre[first], pa.int64())],
        schema=LABEL_SCHEMA,
    )


def _kept_edges(edges: pa.Table, max_size: int) -> tuple[pa.Table, pa.Table]:
    """Degrees of all nodes on edges, and the edges not touching a super-node."""
    degree = (
        degrees(edges)
        if edges.num_rows
        else pa.table({"node": pa.array([], pa.int64()), "degree": pa.array([], pa.int64())})
    )
    blocked = degree.column("node").filter(pc.greater(pc.add(degree.column("degree"), 1), max_size))
    if len(blocked):
        keep = pc.invert(
            pc.or_(
                pc.is_in(edges.column("u"), value_set=blocked),
                pc.is_in(edges.column("v"), value_set=blocked),
            )
        )
        edges = edges.filter(keep)
    return degree, edges


def _dirty_roots(previous: pa.Table, rooted: pa.Table, touched: np.ndarray) -> np.ndarray:
    """New roots of every component that holds a touched node, a node whose root changed, or
    a node from a component such a node left."""
    nodes = rooted.column("node").to_numpy()
    roots = rooted.column("root").to_numpy()
    at, found = lookup(nodes, previous.column("node").to_numpy())
    old = np.where(found, previous.column("root").to_numpy()[at] if previous.num_rows else 0, 0)
    dirty = ~found | (old != roots)
    dirty[np.isin(nodes, touched)] = True
    left_from = np.unique(old[dirty & found])
    dirty |= found & np.isin(old, left_from)
    return np.unique(roots[dirty])


def extend(graph: IdentityGraph, events: pa.Table, config: IdentityConfig) -> IdentityStep:
    """Add the identifiers and links of ``events`` (EVENT_SCHEMA) and re-resolve what changed."""
    occurrences, stats, new_edges = graph_of(events, config.priority)
    nodes = merge_stats(concat([graph.nodes, stats], STATS_SCHEMA))
    edges = merge_edges(concat([graph.edges, new_edges], IDENTITY_EDGES_SCHEMA))
    degree, kept = _kept_edges(edges, config.max_component_size)
    labels = component_labels(kept, config.max_rounds)
    rooted = root_nodes(nodes, degree, labels)
    dirty = _dirty_roots(graph.roots, rooted, stats.column("node").to_numpy())
    selected = rooted.filter(pc.is_in(rooted.column("root"), value_set=pa.array(dirty)))
    at, found = lookup(kept.column("u").to_numpy(), labels.column("node").to_numpy())
    u = kept.column("u").to_numpy()
    edge_root = np.where(found, labels.column("root").to_numpy()[at] if labels.num_rows else u, u)
    in_dirty = np.isin(edge_root, dirty)
    selected_edges = pa.Table.from_arrays(
        [*kept.filter(pa.array(in_dirty)).columns, pa.array(edge_root[in_dirty], pa.int64())],
        schema=ROOTED_EDGE_SCHEMA,
    )
    fresh, conflicts = resolve_components(selected, selected_edges, guard_rules(config))
    redone = pc.is_in(graph.resolved.column("node"), value_set=selected.column("node"))
    before = graph.resolved.filter(redone)
    resolved = concat([graph.resolved.filter(pc.invert(redone)), fresh], IDENTITY_MAP_SCHEMA)
    return IdentityStep(
        graph=IdentityGraph(nodes, edges, rooted.select(["node", "root"]), resolved),
        occurrences=occurrences,
        changed=changed_customers(before, fresh),
        conflicts=len(conflicts),
    )
