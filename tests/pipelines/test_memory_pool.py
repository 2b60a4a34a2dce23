"""Arrow allocates from the system's allocator in journeyline's processes and the processes
they start, unless ``ARROW_DEFAULT_MEMORY_POOL`` says otherwise.

The pool is a per-process choice Arrow makes when pyarrow is imported, so each case runs in
a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from journeyline.memory import POOL_VARIABLE

# Reports the pool in use, and which pool the bytes of a take came from.
REPORT = """
import json, pyarrow as pa
before = {n: f().bytes_allocated() for n, f in POOLS.items()}
kept = pa.array(range(100_000)).take(pa.array(range(99_999, -1, -1)))
grew = sorted(n for n, f in POOLS.items() if f().bytes_allocated() > before[n])
print(json.dumps({"backend": pa.default_memory_pool().backend_name, "grew": grew, **EXTRA}))
"""
POOLS = """
import pyarrow as pa
POOLS = {"system": pa.system_memory_pool, "mimalloc": pa.mimalloc_memory_pool}
EXTRA = {}
"""


def _run(program: str, **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != POOL_VARIABLE} | env
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(program)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_system_allocator_is_chosen_before_pyarrow_is_imported() -> None:
    out = _run(
        "from journeyline.memory import use_memory_pool\n"
        "chosen = use_memory_pool()\n" + POOLS + "EXTRA = {'chosen': chosen}\n" + REPORT
    )
    assert out == {"backend": "system", "grew": ["system"], "chosen": "system"}


def test_a_process_that_imported_pyarrow_first_switches_its_pool() -> None:
    out = _run(
        POOLS
        + "assert pa.default_memory_pool().backend_name != 'system'\n"
        + "from journeyline.memory import use_memory_pool\n"
        + "EXTRA = {'chosen': use_memory_pool()}\n"
        + REPORT
    )
    assert out == {"backend": "system", "grew": ["system"], "chosen": "system"}


def test_a_pool_the_user_named_is_kept() -> None:
    out = _run(
        "from journeyline.memory import use_memory_pool\n"
        "chosen = use_memory_pool()\n" + POOLS + "EXTRA = {'chosen': chosen}\n" + REPORT,
        ARROW_DEFAULT_MEMORY_POOL="mimalloc",
    )
    assert out == {"backend": "mimalloc", "grew": ["mimalloc"], "chosen": "mimalloc"}


def test_processes_started_afterwards_allocate_from_the_same_pool() -> None:
    # the parse workers come from a fork server started by the run: they inherit the choice
    out = _run(
        """
        import json, multiprocessing
        import pyarrow  # the parent imported it before choosing, as the CLI does
        from journeyline.memory import memory_pool_in_use, use_memory_pool

        use_memory_pool()
        with multiprocessing.get_context("forkserver").Pool(1) as pool:
            print(json.dumps({"child": pool.apply(memory_pool_in_use)}))
        """
    )
    assert out == {"child": "system"}
