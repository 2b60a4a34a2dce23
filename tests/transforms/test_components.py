"""Connected components (large-star / small-star): plain functions and the Beam composite."""

from __future__ import annotations

import random

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.beam_helpers import local_pipeline
from transforms.components import (
    UNCONVERGED,
    ConnectedComponents,
    components_in_memory,
    edge_table,
)


def union_find(edges: list[tuple[int, int]]) -> dict[int, int]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in list(parent)}


def scrambled(edges: list[tuple[int, int]], seed: int = 7) -> list[tuple[int, int]]:
    """The same graph with random 64-bit node ids (as hashed identifiers are)."""
    rng = random.Random(seed)
    ids: dict[int, int] = {}
    for a, b in edges:
        for n in (a, b):
            ids.setdefault(n, rng.randrange(-(2**62), 2**62))
    return [(ids[a], ids[b]) for a, b in edges]


def resolve(edges: list[tuple[int, int]], max_rounds: int = 24) -> tuple[dict[int, int], int]:
    """Every node's root by ``components_in_memory`` (the rounds over all edges at once)."""
    u = np.array([a for a, _ in edges], dtype=np.int64)
    v = np.array([b for _, b in edges], dtype=np.int64)
    leaf, root, unconverged = components_in_memory(u, v, max_rounds)
    labels = dict(zip(leaf.tolist(), root.tolist(), strict=True))
    nodes = {n for e in edges for n in e}
    return {n: labels.get(n, n) for n in nodes}, unconverged


GRAPHS = {
    "chain": [(i, i + 1) for i in range(5)],
    "star": [(0, i) for i in range(1, 50)],
    "cycle": [(i, (i + 1) % 30) for i in range(30)],
    "chain_100_hops": [(i, i + 1) for i in range(101)],
    "two_components": [(1, 2), (2, 3), (10, 11)],
    "random_forest": [
        (random.Random(3).randrange(3000), random.Random(i).randrange(3000)) for i in range(2500)
    ],
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_components_equal_union_find(name: str) -> None:
    edges = scrambled(GRAPHS[name])
    labels, violations = resolve(edges)
    assert violations == 0
    assert labels == union_find(edges)


def test_too_few_rounds_are_detected_not_published() -> None:
    edges = scrambled([(i, i + 1) for i in range(2000)])
    _, violations = resolve(edges, max_rounds=1)
    assert violations > 0


def _labels_of(element: tuple[int, object]) -> list[tuple[int, int]]:
    _, table = element
    return list(
        zip(table.column("node").to_pylist(), table.column("root").to_pylist(), strict=True)
    )


@pytest.mark.parametrize("gather", [False, True])
def test_beam_composite_resolves_a_100_hop_chain_across_shards(gather: bool) -> None:
    edges = scrambled([(i, i + 1) for i in range(101)])
    truth = union_find(edges)
    expected = [(n, r) for n, r in truth.items() if n != r]
    half = len(edges) // 2
    with local_pipeline() as p:
        tables = p | beam.Create(
            [
                edge_table(np.array(e, dtype=np.int64)[:, 0], np.array(e, dtype=np.int64)[:, 1])
                for e in (edges[:half], edges[half:])
            ]
        )
        out = tables | ConnectedComponents(shards=8, max_rounds=12, gather=gather)
        assert_that(out.labels | beam.FlatMap(_labels_of), equal_to(expected), label="Labels")
        assert_that(out.labels | beam.FlatMap(_misplaced, 8), equal_to([]), label="ByNodeShard")
        assert_that(out[UNCONVERGED], equal_to([]), label="Converged")


def _misplaced(element: tuple[int, object], shards: int) -> list[int]:
    """Label rows keyed by a shard other than their node's (downstream joins by node shard)."""
    shard, table = element
    return [n for n in table.column("node").to_pylist() if n % shards != shard]


@pytest.mark.parametrize("max_rounds", [1, 2, 3])
def test_gathered_and_sharded_composites_agree_even_unconverged(max_rounds: int) -> None:
    """Both plans give the same labels and the same unconverged count after few rounds."""
    edges = scrambled(GRAPHS["random_forest"] + [(i, i + 1) for i in range(5000, 5400)])
    arr = np.array(edges, dtype=np.int64)
    with local_pipeline() as p:
        tables = p | beam.Create([edge_table(arr[:, 0], arr[:, 1])])
        found = []
        for gather in (False, True):
            out = tables | f"Gather{gather}" >> ConnectedComponents(
                shards=4, max_rounds=max_rounds, gather=gather
            )
            labels = (
                out.labels
                | f"Rows{gather}" >> beam.FlatMap(_labels_of)
                | f"Labels{gather}" >> beam.combiners.ToList()
                | f"Sorted{gather}" >> beam.Map(sorted)
            )
            total = out[UNCONVERGED] | f"Total{gather}" >> beam.CombineGlobally(sum)
            found.append((labels, total))
        (sharded_labels, sharded_total), (gathered_labels, gathered_total) = found
        same = sharded_labels | "SameLabels" >> beam.Map(
            lambda a, b: a == b and len(a) > 0, beam.pvalue.AsSingleton(gathered_labels)
        )
        counts = sharded_total | "SameCount" >> beam.Map(
            lambda a, b: (a == b, a > 0), beam.pvalue.AsSingleton(gathered_total)
        )
        assert_that(same, equal_to([True]), label="LabelsAgree")
        # the same count, and not zero: a 400-hop chain needs more rounds
        assert_that(counts, equal_to([(True, True)]), label="CountsAgree")


@pytest.mark.parametrize("gather", [False, True])
def test_beam_composite_reports_unconverged_nodes(gather: bool) -> None:
    edges = scrambled([(i, i + 1) for i in range(3000)])
    arr = np.array(edges, dtype=np.int64)
    with local_pipeline() as p:
        out = (
            p
            | beam.Create([edge_table(arr[:, 0], arr[:, 1])])
            | ConnectedComponents(shards=4, max_rounds=1, gather=gather)
        )
        total = out[UNCONVERGED] | beam.CombineGlobally(sum)
        assert_that(total | beam.Map(lambda n: n > 0), equal_to([True]))
