"""Connected components of the identity graph, distributed: alternating large-star / small-star.

Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014). Each
round groups edges by one endpoint only, so no worker ever holds more than the
neighbourhood of the nodes in its shard; nothing collects the whole graph. The
rounds are unrolled into the pipeline graph (``max_rounds``); a final check
proves the result is a set of stars (every node points at its component's
minimum) and reports the nodes that are not, so a run with too few rounds
fails loudly instead of publishing wrong customers.

Where one worker may hold the whole edge set (``gather``, the local runner's
broadcast plan), the same rounds run in one step, over all edges at once, and stop
as soon as a round changes nothing: the local runner pays a fixed cost per step, and
the unrolled rounds are about a hundred of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import apache_beam as beam
import numpy as np
import pyarrow as pa

from transforms.batches import KeyedTable, concat, int_shards, split_by_shard

EDGE_SCHEMA = pa.schema([pa.field("u", pa.int64(), False), pa.field("v", pa.int64(), False)])
LABEL_SCHEMA = pa.schema([pa.field("node", pa.int64(), False), pa.field("root", pa.int64(), False)])
UNCONVERGED = "unconverged"


def edge_table(u: np.ndarray, v: np.ndarray) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array(u, pa.int64()), pa.array(v, pa.int64())], schema=EDGE_SCHEMA
    )


def unique_pairs(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (u, v) pairs sorted by u then v."""
    if not len(u):
        return u, v
    order = np.lexsort((v, u))
    u, v = u[order], v[order]
    keep = np.ones(len(u), dtype=bool)
    keep[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return u[keep], v[keep]


def _group_min(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """For pairs sorted by u: the minimum v of each row's u-group, repeated per row."""
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    mins = np.minimum.reduceat(v, starts)
    return np.repeat(mins, np.diff(np.r_[starts, len(u)]))


def large_star(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Large-star on edges grouped at ``u`` (both directions present): link larger neighbours
    of u to the minimum of u's closed neighbourhood."""
    u, v = unique_pairs(u, v)
    if not len(u):
        return u, v
    m = np.minimum(_group_min(u, v), u)
    keep = v > u
    return unique_pairs(v[keep], m[keep])


def small_star(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Small-star on edges oriented u > v and grouped at ``u``: link u and its smaller
    neighbours to the minimum of them."""
    u, v = unique_pairs(u, v)
    if not len(u):
        return u, v
    m = _group_min(u, v)
    spokes = v != m
    first = np.r_[True, u[1:] != u[:-1]]
    return unique_pairs(
        np.concatenate([v[spokes], u[first]]), np.concatenate([m[spokes], m[first]])
    )


def star_violations(leaf: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Nodes that break the star shape (a leaf with two centres, or a node both leaf and centre).

    ``leaf``/``centre`` are oriented edges (leaf > centre) of ONE shard of nodes, where the
    rows name every edge touching those nodes.
    """
    leaf, centre = unique_pairs(leaf, centre)
    bad: list[np.ndarray] = []
    if len(leaf) > 1:
        same = leaf[1:] == leaf[:-1]
        bad.append(leaf[1:][same])
    bad.append(np.intersect1d(leaf, centre))
    return np.unique(np.concatenate(bad)) if bad else np.zeros(0, dtype=np.int64)


def star_labels(leaf: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each leaf's smallest centre, for oriented edges sorted by (leaf, centre): one label per
    node (where not converged a leaf may have several; the run is failed by the count)."""
    first = np.r_[True, leaf[1:] != leaf[:-1]] if len(leaf) else np.zeros(0, bool)
    return leaf[first], centre[first]


def components_in_memory(
    u: np.ndarray, v: np.ndarray, max_rounds: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """(leaf, root, unconverged nodes) of an edge set held at once: the pipeline's rounds
    over all edges, until a round changes nothing or ``max_rounds`` are done.

    Each step works per group of one endpoint, so applying it to all groups at once gives
    the union of what the sharded steps give; a round that changes nothing is a fixed
    point, so stopping there gives what the remaining rounds would.
    """
    keep = u != v
    u, v = unique_pairs(np.maximum(u[keep], v[keep]), np.minimum(u[keep], v[keep]))
    for _ in range(max_rounds):
        big_u, big_v = large_star(np.r_[u, v], np.r_[v, u])
        keep = big_u != big_v
        new_u, new_v = small_star(
            np.maximum(big_u[keep], big_v[keep]), np.minimum(big_u[keep], big_v[keep])
        )
        done = np.array_equal(new_u, u) and np.array_equal(new_v, v)
        u, v = new_u, new_v
        if done:
            break
    leaf, root = star_labels(u, v)
    return leaf, root, len(star_violations(u, v))


def _both_ways(table: pa.Table, shards: int) -> Iterator[tuple[int, pa.Table]]:
    u = table.column("u").to_numpy()
    v = table.column("v").to_numpy()
    keep = u != v
    both = edge_table(np.concatenate([u[keep], v[keep]]), np.concatenate([v[keep], u[keep]]))
    yield from split_by_shard(both, int_shards(both.column("u"), shards))


def _orient(table: pa.Table) -> pa.Table:
    """Edges as (larger, smaller), self-loops dropped."""
    u = table.column("u").to_numpy()
    v = table.column("v").to_numpy()
    keep = u != v
    return edge_table(np.maximum(u[keep], v[keep]), np.minimum(u[keep], v[keep]))


def _oriented(table: pa.Table, shards: int) -> Iterator[tuple[int, pa.Table]]:
    out = _orient(table)
    yield from split_by_shard(out, int_shards(out.column("u"), shards))


def _apply(step: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> Callable:
    """Wrap a numpy edge step as a function over one (shard, tables) group."""

    def run(element: tuple[int, Iterable[pa.Table]]) -> Iterator[pa.Table]:
        _, tables = element
        edges = concat(tables, EDGE_SCHEMA)
        u, v = step(edges.column("u").to_numpy(), edges.column("v").to_numpy())
        if len(u):
            yield edge_table(u, v)

    return run


def _roles(table: pa.Table, shards: int) -> Iterator[tuple[int, pa.Table]]:
    """Send every oriented edge to the shard of its leaf and to the shard of its centre."""
    out = _orient(table)
    yield from split_by_shard(out, int_shards(out.column("u"), shards))
    yield from split_by_shard(out, int_shards(out.column("v"), shards))


class _Labels(beam.DoFn):
    """Per node shard: labels (leaf → centre) and the nodes that are not yet in star shape."""

    def __init__(self, shards: int) -> None:
        self.shards = shards

    def process(self, element: tuple[int, Iterable[pa.Table]]) -> Iterator[object]:
        shard, tables = element
        edges = concat(tables, EDGE_SCHEMA)
        leaf, centre = unique_pairs(edges.column("u").to_numpy(), edges.column("v").to_numpy())
        mine_leaf = np.mod(leaf, self.shards) == shard
        mine_centre = np.mod(centre, self.shards) == shard
        bad = star_violations(leaf[mine_leaf | mine_centre], centre[mine_leaf | mine_centre])
        bad = bad[np.mod(bad, self.shards) == shard]
        if len(bad):
            yield beam.pvalue.TaggedOutput(UNCONVERGED, len(bad))
        leaf, centre = star_labels(leaf[mine_leaf], centre[mine_leaf])
        if len(leaf):
            yield shard, label_table(leaf, centre)


def label_table(leaf: np.ndarray, root: np.ndarray) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array(leaf, pa.int64()), pa.array(root, pa.int64())], schema=LABEL_SCHEMA
    )


def _all_labels(tables: list[pa.Table], shards: int, max_rounds: int) -> Iterator[object]:
    """Labels of the whole edge set (``components_in_memory``), split by node shard as the
    sharded check gives them, and the count of unconverged nodes."""
    edges = concat(tables, EDGE_SCHEMA)
    leaf, root, unconverged = components_in_memory(
        edges.column("u").to_numpy(), edges.column("v").to_numpy(), max_rounds
    )
    if unconverged:
        yield beam.pvalue.TaggedOutput(UNCONVERGED, unconverged)
    if len(leaf):
        labels = label_table(leaf, root)
        yield from split_by_shard(labels, int_shards(labels.column("node"), shards))


class ConnectedComponents(beam.PTransform):
    """Edge tables (u, v) → (shard, label table (node, root)) for every node on an edge,
    root being the smallest node id of its component; plus an ``unconverged`` count output.
    With ``gather`` the edges are resolved in one step by one worker."""

    def __init__(self, shards: int, max_rounds: int, gather: bool = False) -> None:
        super().__init__()
        self.shards = shards
        self.max_rounds = max_rounds
        self.gather = gather

    def expand(self, edges: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        shards = self.shards
        if self.gather:
            return (
                edges
                | "Gather" >> beam.combiners.ToList()
                | "Resolve"
                >> beam.FlatMap(_all_labels, shards, self.max_rounds)
                .with_output_types(KeyedTable)
                .with_outputs(UNCONVERGED, main="labels")
            )
        for r in range(1, self.max_rounds + 1):
            edges = (
                edges
                | f"Round{r}/LargeStarShard" >> beam.FlatMap(_both_ways, shards)
                | f"Round{r}/LargeStarGroup" >> beam.GroupByKey()
                | f"Round{r}/LargeStar" >> beam.FlatMap(_apply(large_star))
                | f"Round{r}/SmallStarShard" >> beam.FlatMap(_oriented, shards)
                | f"Round{r}/SmallStarGroup" >> beam.GroupByKey()
                | f"Round{r}/SmallStar" >> beam.FlatMap(_apply(small_star))
            )
        return (
            edges
            | "Check/Roles" >> beam.FlatMap(_roles, shards)
            | "Check/Group" >> beam.GroupByKey()
            | "Check/Labels"
            >> beam.ParDo(_Labels(shards))
            .with_output_types(KeyedTable)
            .with_outputs(UNCONVERGED, main="labels")
        )
