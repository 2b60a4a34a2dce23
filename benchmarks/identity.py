"""Identity resolution alone, on one process: ``python -m benchmarks.identity LANDING``.

Parses a landing folder with the shared contract, drops duplicates, then times the
batch's identity functions over all events at once (``graph_of`` → merged stats and
edges → super-node guard → large-star/small-star components → ``resolve_components``,
via ``transforms.streaming.identity.extend`` from an empty graph) and ``assign``. The
Beam job runs the same functions sharded; this isolates their cost from the runner's.
"""

from __future__ import annotations

import argparse
import os
import time

import pyarrow as pa

from benchmarks.run import BENCH_HASH_KEY, explained
from journeyline.config import default_config
from journeyline.inputs import discover
from journeyline.schema import EVENT_SCHEMA
from transforms.batches import concat
from transforms.dedup import drop_duplicates
from transforms.identity import assign, candidates
from transforms.read import ParseSourceFile
from transforms.streaming.identity import IdentityGraph, extend


@explained("python -m benchmarks.identity")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.identity")
    parser.add_argument("landing", help="a landing folder in `journeyline generate` layout")
    args = parser.parse_args(argv)
    os.environ.setdefault("JOURNEYLINE_HASH_KEY", BENCH_HASH_KEY)  # synthetic data only
    config = default_config().with_input(args.landing)
    parse = ParseSourceFile(config, "bench_identity")
    parse.setup()
    started = time.perf_counter()
    tables = [
        out
        for item in discover(config)
        for out in parse.process(item)
        if getattr(out, "tag", None) is None and isinstance(out, pa.Table)
    ]
    events, _ = drop_duplicates(concat(tables, EVENT_SCHEMA))
    parsed = time.perf_counter()
    step = extend(IdentityGraph.empty(), events, config.identity)
    resolved = time.perf_counter()
    assign(events, candidates(step.occurrences, step.graph.resolved))
    assigned = time.perf_counter()
    customers = len(set(step.graph.resolved.column("customer_id").to_pylist()))
    print(
        f"events {events.num_rows:,} (parse + de-dup {parsed - started:.1f} s)\n"
        f"identity resolution {resolved - parsed:.1f} s: {step.graph.resolved.num_rows:,} "
        f"identifiers → {customers:,} customers, {step.conflicts} guard refusals\n"
        f"assigning events to customers {assigned - resolved:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
