"""PooledDoFn: work on a thread pool, outputs (tagged ones too) when the bundle finishes."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import GlobalWindow

from tests.transforms.beam_helpers import local_pipeline
from transforms import pooled
from transforms.pooled import PooledDoFn


class _Square(PooledDoFn):
    """Squares on the main output, odd numbers also on ``odd``; finishes in random order."""

    def work(self, element: int) -> list[Any]:
        time.sleep(random.random() / 100)
        assert threading.current_thread() is not threading.main_thread()
        outputs: list[Any] = [element * element]
        if element % 2:
            outputs.append(beam.pvalue.TaggedOutput("odd", element))
        return outputs


def test_outputs_and_tagged_outputs_reach_the_pipeline() -> None:
    with local_pipeline() as p:
        out = p | beam.Create(range(20)) | beam.ParDo(_Square()).with_outputs("odd", main="squares")
        assert_that(out.squares, equal_to([n * n for n in range(20)]), label="Squares")
        assert_that(out.odd, equal_to(list(range(1, 20, 2))), label="Odd")


def test_a_bundle_emits_in_the_order_elements_came_in_the_global_window() -> None:
    fn = _Square()
    fn.setup()
    try:
        fn.start_bundle()
        for n in range(30):
            fn.process(n)
        out = list(fn.finish_bundle())
    finally:
        fn.teardown()
    main = [o for o in out if not isinstance(o, beam.pvalue.TaggedOutput)]
    assert [o.value for o in main] == [n * n for n in range(30)]
    assert all(o.windows == (GlobalWindow(),) for o in main)
    assert fn.pending == []


def test_a_retried_bundle_emits_nothing_of_the_failed_attempt() -> None:
    fn = _Square()
    fn.setup()
    try:
        fn.start_bundle()
        fn.process(3)  # the attempt fails before finish_bundle
        fn.start_bundle()
        fn.process(4)
        values = [o.value for o in fn.finish_bundle()]
    finally:
        fn.teardown()
    assert values == [16]


class _Sum(PooledDoFn):
    grouped = True

    def work(self, element: tuple[str, list[int]]) -> list[Any]:
        key, values = element
        assert isinstance(values, list)  # read on the runner's thread, not from the pool
        return [(key, sum(values))]


def test_grouped_values_are_read_before_the_work_is_handed_on() -> None:
    with local_pipeline() as p:
        sums = (
            p | beam.Create([("a", 1), ("b", 2), ("a", 3)]) | beam.GroupByKey() | beam.ParDo(_Sum())
        )
        assert_that(sums, equal_to([("a", 4), ("b", 2)]))


class _Scaled(PooledDoFn):
    """Each element times the side input's total, which ``prepare`` derives once per list."""

    def __init__(self) -> None:
        self.prepared_on: list[threading.Thread] = []

    def prepare(self, factors: list[int]) -> tuple[int]:
        self.prepared_on.append(threading.current_thread())
        return (sum(factors),)

    def work(self, element: int, total: int) -> list[Any]:
        assert threading.current_thread() is not threading.main_thread()
        return [element * total]


def test_side_inputs_are_prepared_on_the_runners_thread_and_handed_to_the_work() -> None:
    with local_pipeline() as p:
        factors = p | "Factors" >> beam.Create([2, 3])
        out = (
            p
            | "Numbers" >> beam.Create(range(10))
            | beam.ParDo(_Scaled(), beam.pvalue.AsList(factors))
        )
        assert_that(out, equal_to([n * 5 for n in range(10)]))
    fn = _Scaled()
    fn.setup()
    try:
        fn.start_bundle()
        fn.process(1, [4, 6])
        assert fn.prepared_on == [threading.current_thread()]
        assert [o.value for o in fn.finish_bundle()] == [10]
    finally:
        fn.teardown()


class _Gated(PooledDoFn):
    """Work that waits until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def work(self, element: int) -> list[Any]:
        self.gate.wait(10)
        return [element]


def test_the_runner_waits_while_the_pool_has_its_fill_of_unfinished_work() -> None:
    """At most ``_AHEAD`` elements per thread wait in memory: the next ``process`` blocks
    until one is done, however many the bundle finished before."""
    fn = _Gated()
    fn.setup()
    limit = pooled._AHEAD * fn.threads
    try:
        fn.start_bundle()
        fn.gate.set()
        for n in range(3 * limit):  # done tasks do not count against the limit
            fn.process(n)
        while not all(task.done() for task in fn.pending):
            time.sleep(0.01)
        fn.gate.clear()
        feeder = threading.Thread(
            target=lambda: [fn.process(n) for n in range(100, 100 + limit + 2)]
        )
        feeder.start()
        time.sleep(0.3)
        assert len(fn.pending) == 3 * limit + limit  # the next one waits for a free slot
        fn.gate.set()
        feeder.join(10)
        values = [o.value for o in fn.finish_bundle()]
    finally:
        fn.gate.set()
        fn.teardown()
    assert values == [*range(3 * limit), *range(100, 100 + limit + 2)]
