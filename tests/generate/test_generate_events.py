"""Valid events use the vocabulary, and their fields obey the row contract."""

from __future__ import annotations

from collections import Counter

from journeyline.generate import GenerateSummary
from journeyline.schema import EVENT_TYPES, SURVEY_RANGES
from tests.generate.generate_helpers import truth, valid_events


def test_stream_and_event_type_are_in_the_vocabulary(any_run: GenerateSummary) -> None:
    """Every valid event uses the SPEC vocabulary of its stream, and every stream has events."""
    seen = Counter()
    for row in truth(any_run.out, "events"):
        assert row["event_type"] in EVENT_TYPES[row["stream"]], row
        seen[row["stream"]] += 1
    assert all(seen[s] for s in EVENT_TYPES)


def test_fields_obey_the_contract(any_run: GenerateSummary) -> None:
    """Survey scores in range, amounts with currency, every event owned by a person."""
    for row, obj in valid_events(any_run.out):
        if "survey_type" in obj:
            low, high = SURVEY_RANGES[obj["survey_type"]]
            assert low <= obj["score"] <= high
            assert obj["event_type"] == "survey_answered"
        if obj["event_type"] == "review_posted":
            assert 1 <= obj["score"] <= 5
        if obj["event_type"] in ("deal_won", "renewal"):
            assert obj["amount"] > 0 and len(obj["currency"]) == 3
        if "amount" in obj:
            assert isinstance(obj["amount"], int | float)
        assert row["person_id"].startswith("per_")


def test_people_average_twenty_to_thirty_events(default_run: GenerateSummary) -> None:
    """Volumes and the identified share are in the intended range."""
    people = truth(default_run.out, "people")
    assert 15 <= default_run.valid_events / len(people) <= 40
    identified = sum(p["is_identified"] for p in people)
    assert 0.35 <= identified / len(people) <= 0.7
    assert sum(p["event_count"] for p in people) == default_run.valid_events
