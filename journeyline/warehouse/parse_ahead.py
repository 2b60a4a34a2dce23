"""``dbt parse`` ahead of time, in a low-priority child process, while the Beam job runs.

A run's first dbt call parses the dbt project: about 4.5 s on a new lake, 3 s when
only the lake attempt changed. A child that parses with the same arguments while
Beam runs leaves dbt's partial-parse state in the target folder, so that call finds
the work done. The child only takes idle CPU (nice 10) and is disposable: dbt checks
the saved state itself and parses again when it is missing or stale, so a child that
fails or is stopped costs nothing but its own time.

A separate interpreter (``python -m journeyline.warehouse.parse_ahead``, arguments on
stdin), not a multiprocessing child: it never re-imports the caller's main module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import suppress
from typing import Any

from journeyline.warehouse.dbt_runner import run_dbt

NICE = 10


class ParseAhead:
    """A running ``dbt parse`` with ``run_dbt``'s keyword arguments (no command)."""

    def __init__(self, dbt_args: dict[str, Any]) -> None:
        self.process: subprocess.Popen | None = None
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(dbt_args, default=str).encode())
            self.process.stdin.close()
        except OSError:  # no child (or one that died at once): the run's dbt call parses
            self.stop()

    def finish(self, timeout: float = 120.0) -> bool:
        """Wait for the parse (stopped after ``timeout`` s); whether it succeeded."""
        if self.process is None:
            return False
        try:
            return self.process.wait(timeout) == 0
        except subprocess.TimeoutExpired:
            self.stop()
            return False

    def stop(self) -> None:
        """Stop the child if it still runs (a failed run does not wait for it)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def main() -> int:
    """The child: lower its priority, read the arguments, parse."""
    with suppress(OSError):
        os.nice(NICE)
    outcome = run_dbt(["parse"], **json.load(sys.stdin))
    return 0 if outcome.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
