"""The parse workers' fork server, started as soon as a `run` knows it will want one.

On the local runner a large input is parsed by worker processes (``transforms/read.py``),
forked from a fork server: a fresh interpreter that imports the parse code (about 1.5 s,
most of it Beam) before it forks any worker. Started when the pipeline was built, it
competed with that for the CPU and the first file waited for it (0.6 s at 1M events).
Started before the run imports Beam itself, it imports on the core the run's own imports
leave idle, and the workers fork from it ready when the first file comes (README,
Performance, the twentieth round). Nothing here imports Beam.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
from collections.abc import Iterator
from contextlib import suppress
from multiprocessing.context import ForkServerContext
from pathlib import Path

from journeyline.config import Config
from journeyline.config.model import PARALLEL_PARSE_BYTES, is_local_runner
from journeyline.dataflow import option_values, runner_names

# What the fork server imports before it forks a worker: the parse code.
PRELOAD = ["transforms.read"]


def fork_context() -> ForkServerContext:
    """The context the parse workers start in: forked from a server that preloads them."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def local_input_bytes(config: Config, enough: int = PARALLEL_PARSE_BYTES) -> int | None:
    """Bytes of the files at the sources' locations, counted up to ``enough``; None when a
    location is not a local path that exists (Cloud Storage, BigQuery, a typo the run will
    name). Every file below a folder counts, read or not: an upper bound, and cheap. A file
    that cannot be read (a broken link) counts nothing: the run will say what is wrong."""
    total = 0
    for source in config.sources:
        path = Path(source.location)
        if "://" in source.location or not path.exists():
            return None
        for item in _files(path):
            if total >= enough:
                return total
            with suppress(OSError):
                total += item.stat().st_size
    return total


def _files(path: Path) -> Iterator[Path]:
    """``path`` if it is a file, else every file below it."""
    if path.is_file():
        yield path
    for folder, _, names in os.walk(path):
        yield from (Path(folder, name) for name in names)


def may_parse_in_workers(config: Config, beam_args: list[str]) -> bool:
    """Whether a batch run with these Beam options may parse in worker processes: the local
    runner in this process (``run.py``: not its ``multi_processing`` mode) with more than
    one parser for the input there is (``PipelineConfig.parsers``)."""
    runners = runner_names(beam_args)
    runner = runners[-1] if runners else None
    if not is_local_runner(runner):
        return False
    if "multi_processing" in option_values(beam_args, "direct_running_mode")[-1:]:
        return False
    size = local_input_bytes(config)
    return size is not None and config.pipeline.parsers(runner, size) > 1


def start_early(config: Config, beam_args: list[str]) -> bool:
    """Start the parse workers' fork server now if the run may want it; True if started.

    ``ensure_running`` only starts the server's interpreter, which then imports on its own;
    the parse pool finds it running (one server per process). A run that ends up parsing
    in this process (an increment of small files) leaves it idle until the run exits.
    Call it before Beam is imported, with the environment the workers should have
    (``journeyline.memory`` sets theirs first)."""
    if not may_parse_in_workers(config, beam_args):
        return False
    fork_context()
    try:
        multiprocessing.forkserver.ensure_running()
    except OSError:  # the pool tries again when it starts, and says what fails
        return False
    return True
