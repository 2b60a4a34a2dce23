"""Arrow allocates from the system's allocator in journeyline's processes and the processes
they start, unless ``ARROW_DEFAULT_MEMORY_POOL`` says otherwise; on glibc, its malloc keeps
blocks up to 32 MiB in its heap (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``).

The pool is a per-process choice Arrow makes when pyarrow is imported, so each case runs in
a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap

import pytest

from journeyline.memory import GLIBC_MALLOC, POOL_VARIABLE

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
    unset = {POOL_VARIABLE, *GLIBC_MALLOC}
    environ = {k: v for k, v in os.environ.items() if k not in unset} | env
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


GLIBC = platform.libc_ver()[0] == "glibc"
TUNE = """
import json
from journeyline.memory import tune_glibc_malloc
print(json.dumps({"applied": tune_glibc_malloc()}))
"""
NAMES = sorted(GLIBC_MALLOC)
CHILD = f"import json, os; print(json.dumps({{k: os.environ.get(k) for k in {NAMES!r}}}))"


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc settings")
def test_glibc_malloc_keeps_blocks_up_to_32_mib_in_its_heap_in_this_process() -> None:
    assert _run(TUNE) == {
        "applied": {"MALLOC_MMAP_THRESHOLD_": 32 << 20, "MALLOC_TRIM_THRESHOLD_": 1 << 30}
    }


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc settings")
def test_a_users_malloc_settings_are_kept_and_one_glibc_cannot_read_is_left_to_it() -> None:
    out = _run(TUNE, MALLOC_TRIM_THRESHOLD_="123456789", MALLOC_MMAP_THRESHOLD_="lots")
    assert out == {"applied": {"MALLOC_TRIM_THRESHOLD_": 123456789}}


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc settings")
def test_glibc_settings_reach_the_processes_started_afterwards() -> None:
    inherited = _run(
        "import subprocess, sys\n"
        "from journeyline.memory import use_memory_pool\n"
        "use_memory_pool()\n"
        f"print(subprocess.run([sys.executable, '-c', {CHILD!r}], capture_output=True,"
        " text=True).stdout)\n"
    )
    assert inherited == {name: str(value) for name, value in GLIBC_MALLOC.items()}
