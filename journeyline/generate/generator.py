"""``generate``: the whole synthetic data set in one deterministic call.

Population, journeys, noise, landing files, ground truth and summary are produced in a
fixed order from RNGs seeded by ``seed`` (one per concern and per person), with no clock
and no set iteration, so the same arguments give byte-identical files.
"""

from __future__ import annotations

import gc
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from journeyline.generate.clock import DAY, date_to_ms, months_between
from journeyline.generate.events import Event, dumps
from journeyline.generate.journeys import build_journey
from journeyline.generate.noise import (
    DUPLICATE,
    REASON_CODES,
    NoiseLine,
    add_blocked_extras,
    duplicates,
    malformed,
)
from journeyline.generate.population import build_population
from journeyline.generate.profiles import Profile, get_profile
from journeyline.generate.summary import GenerateSummary, StreamSummary
from journeyline.generate.truth import check_resolvable, person_facts, write_truth
from journeyline.generate.writer import Layout, write_landing
from journeyline.schema import STREAMS


def _stream_summaries(
    events: list[Event], noise: list[NoiseLine], layout: Layout
) -> tuple[StreamSummary, ...]:
    """Counts per stream, straight from what was written."""
    summaries = []
    for stream in STREAMS:
        own = [e for e in events if e.stream == stream]
        injected = [n for n in noise if n.stream == stream]
        summaries.append(
            StreamSummary(
                stream=stream,
                files=tuple(layout.files(stream)),
                lines=sum(layout.file_lines[f] for f in layout.files(stream)),
                valid_events=len(own),
                duplicates=sum(1 for n in injected if n.expected_outcome == DUPLICATE),
                malformed={
                    code: sum(1 for n in injected if n.expected_reason_code == code)
                    for code in REASON_CODES
                },
                late_events=sum(1 for e in own if e.received - e.occurred >= DAY),
                blocked_extras=sum(1 for e in own if e.blocked_type is not None),
            )
        )
    return tuple(summaries)


def _rng(seed: int, profile: str, concern: str) -> random.Random:
    """An RNG for one concern (population, noise, writer), independent of the others."""
    return random.Random(f"journeyline:{seed}:{profile}:{concern}")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: the generator builds ~10^5 acyclic objects, and
    collections triggered by that churn cost about a third of the run time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def generate(
    out: Path,
    people: int = 5000,
    seed: int = 42,
    start: date = date(2025, 1, 1),
    days: int = 365,
    profile: str = "default",
) -> GenerateSummary:
    """Write landing files for the three streams and their ground truth into ``out``.

    ``people`` people in B2B accounts live journeys that start uniformly in the ``days``
    days from ``start``; profile ``default`` is perfectly resolvable, ``messy`` is not.
    """
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    prof = get_profile(profile)
    with _gc_paused():
        return _generate(Path(out), people, seed, start, days, prof)


def _generate(
    out: Path, people: int, seed: int, start: date, days: int, prof: Profile
) -> GenerateSummary:
    """The body of ``generate`` with validated arguments (run with the collector paused)."""
    profile = prof.name
    window = (date_to_ms(start), date_to_ms(start) + days * DAY)

    population = build_population(_rng(seed, profile, "population"), people, prof)
    event_ids: set[str] = set()
    events: list[Event] = []
    for person in population.people:
        journey = build_journey(person, population, prof, seed, window, event_ids)
        events.extend(journey.events)

    noise_rng = _rng(seed, profile, "noise")
    add_blocked_extras(events, noise_rng, prof.blocked_extra_rate)
    lines = [dumps(e.to_dict()) for e in events]

    def new_event_id() -> str:
        """A fresh event id for a malformed line, unique across valid ids too."""
        while True:
            event_id = f"evt_{noise_rng.getrandbits(80):020x}"
            if event_id not in event_ids:
                event_ids.add(event_id)
                return event_id

    noise = duplicates(events, lines, noise_rng, prof.duplicate_rate, months_between(*window))
    noise += malformed(events, noise_rng, prof.malformed_rate, new_event_id)

    facts = person_facts(population, events)
    if prof.perfectly_resolvable:
        check_resolvable(facts)  # before anything is written
    out.mkdir(parents=True, exist_ok=True)
    layout = write_landing(out, events, lines, noise, _rng(seed, profile, "writer"))
    truth = write_truth(out / "_truth", population, events, facts, noise, layout)

    histories = [f.history for f in facts.values()]
    summary = GenerateSummary(
        out=out,
        profile=profile,
        seed=seed,
        start=start,
        days=days,
        people=people,
        accounts=len(population.accounts),
        identified_people=sum(
            1 for f in facts.values() if any(t != "anonymous_id" for t, _ in f.identifiers)
        ),
        customers=sum(1 for h in histories if "customer" in h.entered),
        advocates=sum(1 for h in histories if "advocate" in h.entered),
        streams=_stream_summaries(events, noise, layout),
        truth={**truth, "summary": out / "_truth" / "summary.json"},
    )
    (out / "_truth" / "summary.json").write_text(
        json.dumps(summary.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return summary
