"""A DoFn whose per-element work runs on a thread pool: the other cores for Arrow's kernels.

The local runner runs a pipeline on one thread. Arrow's sorts, takes and Parquet
writer release the GIL, so a step made of them can work on one element while the
runner's thread decodes the next: ``PooledDoFn`` hands each element's work to a
pool and emits the outputs when the bundle finishes (in the global window, where
the batch job's elements are). On a distributed runner it costs nothing: its
worker runs bundles side by side anyway.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

# Elements per thread waiting in memory: decoding would otherwise run far ahead of the work.
_AHEAD = 2


def at_bundle_end(out: Any) -> Any:
    """An output emitted from ``finish_bundle``, which has no element to take a window from:
    put in the global window (the batch job's), a tagged output's value too."""
    if isinstance(out, beam.pvalue.TaggedOutput):
        return beam.pvalue.TaggedOutput(out.tag, GlobalWindows.windowed_value(out.value))
    return GlobalWindows.windowed_value(out)


class PooledDoFn(beam.DoFn):
    """Subclasses define ``work(element, *prepared) -> list`` of outputs (``TaggedOutput``
    for a tag); ``work`` runs on a pool thread, so it must only read its arguments and
    ``self``. Side inputs go through ``prepare`` first, on the runner's thread.

    ``grouped = True``: elements are a GroupByKey's (key, values), and the values are read
    into a list on the runner's thread (a runner's lazy iterable is not read from the pool).
    """

    grouped = False

    def work(self, element: Any, *prepared: Any) -> list[Any]:
        raise NotImplementedError

    def prepare(self, *side_inputs: Any) -> tuple[Any, ...]:
        """What ``work`` needs of the side inputs: derived here, on the runner's thread, so
        that an index built once per side input is not built by two threads at a time."""
        return side_inputs

    def setup(self) -> None:
        self.threads = max(2, os.cpu_count() or 1)
        self.pool = ThreadPoolExecutor(self.threads)
        self.pending: list[Future] = []  # the bundle's tasks, in order
        self.running: list[Future] = []  # those not seen done yet (a few at most)

    def start_bundle(self) -> None:
        # A retried bundle starts clean: nothing of a failed attempt is emitted.
        for task in self.pending:
            task.cancel()
        self.pending, self.running = [], []

    def process(self, element: Any, *side_inputs) -> None:
        # (*side_inputs unannotated: Beam would take an annotation as their type hint)
        # Only the tasks not seen done are polled: polling all of the bundle's made each
        # element cost as much as the elements before it (365 day files: 66k polls).
        self.running = [task for task in self.running if not task.done()]
        if len(self.running) >= _AHEAD * self.threads:
            wait(self.running, return_when=FIRST_COMPLETED)
        if self.grouped:
            key, values = element
            element = (key, list(values))
        task = self.pool.submit(self.work, element, *self.prepare(*side_inputs))
        self.pending.append(task)
        self.running.append(task)

    def finish_bundle(self) -> Iterator[Any]:
        pending, self.pending, self.running = self.pending, [], []
        for task in pending:
            yield from map(at_bundle_end, task.result())

    def teardown(self) -> None:
        if getattr(self, "pool", None) is not None:
            self.pool.shutdown(cancel_futures=True)
