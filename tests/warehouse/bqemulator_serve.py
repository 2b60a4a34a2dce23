"""Start the BigQuery emulator (bqemulator) without DuckDB's spatial extension.

bqemulator refuses to start when DuckDB's `spatial` extension cannot be loaded, and
extensions download from a host this machine cannot reach. journeyline uses no
GEOGRAPHY type, so the extension is skipped. Runs inside .venv-bqemulator:

    .venv-bqemulator/bin/python tests/warehouse/bqemulator_serve.py --rest-port 9050
"""

from __future__ import annotations

import sys

from bqemulator.cli import main
from bqemulator.storage.engine import DuckDBEngine


def _no_spatial(self: DuckDBEngine) -> None:
    """GEOGRAPHY is not used: start without the spatial extension."""


if __name__ == "__main__":
    DuckDBEngine._load_spatial = _no_spatial
    sys.exit(main(["start", "--ephemeral", *sys.argv[1:]]))
