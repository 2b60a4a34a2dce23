"""Arrow tables from a parse worker process to the runner, through a memory-mapped file.

A worker's result goes back to its parent through a pipe, pickled: about 55 MB per
100k events, which the parent reads in 64 KiB pieces, each one waiting for the GIL
while the runner's thread works. Written as one Arrow IPC file in shared memory
instead, the tables cross with one copy on the worker's side and none on the
runner's: the parent maps the file, and its tables point into the mapping.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass

import pyarrow as pa

# tmpfs on Linux: files there are memory, never written to a disk.
SHARED_MEMORY = "/dev/shm"
# Room left in shared memory after a file is written (other programs use it too).
_HEADROOM = 256 * 1024 * 1024


@dataclass(frozen=True)
class MappedTables:
    """Tables written to ``path`` as one Arrow IPC file: ``batches[i]`` record batches each."""

    path: str
    batches: tuple[int, ...]


def handoff_dir(root: str = SHARED_MEMORY) -> str | None:
    """A fresh directory for one pool's files in shared memory; None where there is none
    (the tables are then pickled through the pipe)."""
    try:
        return tempfile.mkdtemp(prefix="journeyline-parse-", dir=root)
    except OSError:  # no such directory, or not writable
        return None


def remove_dir(directory: str | None) -> None:
    """Remove a pool's directory and any file a worker left in it (a cancelled task's)."""
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


def pack(tables: list[pa.Table], directory: str | None) -> MappedTables | list[pa.Table]:
    """Tables of one schema written to a file in ``directory``; the tables themselves when
    there is no directory, they differ in schema, or the file would not fit."""
    if directory is None or not tables or any(t.schema != tables[0].schema for t in tables):
        return tables
    if shutil.disk_usage(directory).free < sum(t.nbytes for t in tables) + _HEADROOM:
        return tables
    fd, path = tempfile.mkstemp(suffix=".arrow", dir=directory)
    os.close(fd)
    counts = []
    try:
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, tables[0].schema) as writer:
            for table in tables:
                batches = table.to_batches()
                counts.append(len(batches))
                for batch in batches:
                    writer.write_batch(batch)
    except OSError:  # shared memory filled up meanwhile: the pipe still works
        os.unlink(path)
        return tables
    return MappedTables(path, tuple(counts))


def unpack(packed: MappedTables | list[pa.Table]) -> list[pa.Table]:
    """The tables of ``pack``, in order. A file is mapped, not read, and removed at once:
    the mapping keeps its memory until the last table that points into it is gone."""
    if not isinstance(packed, MappedTables):
        return packed
    try:
        reader = pa.ipc.open_file(pa.memory_map(packed.path))
        tables, start = [], 0
        for count in packed.batches:
            batches = [reader.get_batch(i) for i in range(start, start + count)]
            tables.append(pa.Table.from_batches(batches, schema=reader.schema))
            start += count
    finally:
        os.unlink(packed.path)
    return tables
