"""Which allocator Arrow's buffers come from in journeyline's processes: the system's.

pyarrow's wheels allocate from mimalloc unless ``ARROW_DEFAULT_MEMORY_POOL`` says
otherwise. A run builds and drops tables of hundreds of megabytes step after step, and
with mimalloc the kernel took 7.9 s of a 1M-event run's 34 s of CPU (most likely memory
given back to the system and taken again). With the system allocator (glibc's malloc) it
took 4.3 s, and the Beam job 14% less time (README, Performance, the nineteenth round).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from contextlib import suppress

POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"  # Arrow's own: read when pyarrow is imported
DEFAULT_POOL = "system"
# glibc's malloc maps each block over its mmap threshold (128 KiB, raised as such blocks are
# freed) on its own, unmaps it when it is freed, and gives the top of its heap back to the
# system past its trim threshold: a run's buffers of a few megabytes were faulted in again
# and again. Blocks up to 32 MiB (the largest threshold glibc takes) from the heap, and up
# to 1 GiB of freed memory kept, took another 8% off the Beam job at 1M (README, the
# nineteenth round). Read by glibc when a process starts (children), set by ``mallopt``
# in this one; values the user set are kept.
GLIBC_MALLOC = {"MALLOC_MMAP_THRESHOLD_": 32 << 20, "MALLOC_TRIM_THRESHOLD_": 1 << 30}
_MALLOPT = {"MALLOC_TRIM_THRESHOLD_": -1, "MALLOC_MMAP_THRESHOLD_": -3}  # M_TRIM_…, M_MMAP_…
_INT_MAX = 2**31 - 1


def use_memory_pool() -> str:
    """Make Arrow allocate from the pool ``ARROW_DEFAULT_MEMORY_POOL`` names (``system``
    when it is unset) in this process and in every process it starts; return its name.

    Setting the variable is enough for a process that has not imported pyarrow yet, and it
    is inherited by child processes (parse workers, the warehouse child); a process that
    already imported pyarrow switches its default pool here. A value the user set is kept,
    and one Arrow does not know is left to Arrow (it warns and keeps its default). glibc's
    malloc, the system allocator on Linux, is tuned too (``tune_glibc_malloc``).
    """
    tune_glibc_malloc()
    name = os.environ.setdefault(POOL_VARIABLE, DEFAULT_POOL)
    pa = sys.modules.get("pyarrow")
    if pa is None:
        return name
    pools = {
        "system": pa.system_memory_pool,
        "mimalloc": pa.mimalloc_memory_pool,
        "jemalloc": pa.jemalloc_memory_pool,
    }
    if name in pools:
        with suppress(NotImplementedError):  # a pyarrow without that allocator: its default
            pa.set_memory_pool(pools[name]())
    return memory_pool_in_use()


def tune_glibc_malloc() -> dict[str, int]:
    """Apply ``GLIBC_MALLOC`` (or the user's values of its variables) to this process and,
    through the environment, to the processes it starts; return the settings applied
    here (none where the C library is not glibc)."""
    if platform.libc_ver()[0] != "glibc":
        return {}
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return {}
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = {}
    for variable, default in GLIBC_MALLOC.items():
        value = os.environ.setdefault(variable, str(default))
        if value.isdigit() and mallopt(_MALLOPT[variable], min(int(value), _INT_MAX)) == 1:
            applied[variable] = int(value)
    return applied


def memory_pool_in_use() -> str:
    """The backend of the pool Arrow allocates from in this process (for run manifests)."""
    import pyarrow as pa

    return pa.default_memory_pool().backend_name
