"""Which allocator Arrow's buffers come from in journeyline's processes: the system's.

pyarrow's wheels allocate from mimalloc unless ``ARROW_DEFAULT_MEMORY_POOL`` says
otherwise. A run builds and drops tables of hundreds of megabytes step after step, and
mimalloc gives the pages of large buffers back to the system and faults them in again
for the next: in a 1M-event run the kernel took 7.9 s of the 34 s of CPU. With the
system allocator (glibc's malloc, which keeps and reuses more of what is freed) it took
4.3 s, and the Beam job 14% less time (README, Performance, the nineteenth round).
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress

POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"  # Arrow's own: read when pyarrow is imported
DEFAULT_POOL = "system"


def use_memory_pool() -> str:
    """Make Arrow allocate from the pool ``ARROW_DEFAULT_MEMORY_POOL`` names (``system``
    when it is unset) in this process and in every process it starts; return its name.

    Setting the variable is enough for a process that has not imported pyarrow yet, and it
    is inherited by child processes (parse workers, the warehouse child); a process that
    already imported pyarrow switches its default pool here. A value the user set is kept,
    and one Arrow does not know is left to Arrow (it warns and keeps its default).
    """
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
    return pa.default_memory_pool().backend_name


def memory_pool_in_use() -> str:
    """The backend of the pool Arrow allocates from in this process (for run manifests)."""
    import pyarrow as pa

    return pa.default_memory_pool().backend_name
