"""Time run_gates on ~150k timeline rows (a script, not a unit test).

.venv/bin/python tests/quality/bench_gates.py [customers] [events_per_customer]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from journeyline.config import load_config
from tests.quality.dq_warehouse import STAGING, build_warehouse


def main(customers: int = 15_000, events_per_customer: int = 10) -> None:
    """Build the warehouse, then time the first run (GX import included) and a second run."""
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "bench.duckdb"))
        started = time.perf_counter()
        build_warehouse(con, customers=customers, events_per_customer=events_per_customer)
        rows = con.execute(f"select count(*) from {STAGING}.customer_timeline").fetchone()
        print(
            f"built {rows[0] if rows else 0:,} timeline rows in "
            f"{time.perf_counter() - started:.2f}s"
        )

        started = time.perf_counter()
        from journeyline.quality import run_gates, summarise

        print(f"import journeyline.quality: {time.perf_counter() - started:.2f}s")
        config = load_config()
        for attempt in ("first run (imports GX)", "second run"):
            started = time.perf_counter()
            results = run_gates(con, STAGING, "bench", config)
            print(f"{attempt}: {time.perf_counter() - started:.2f}s")
        print(summarise(results))
        con.close()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
