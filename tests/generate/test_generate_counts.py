"""The summary reconciles with the files and the truth; noise rows point at real lines."""

from __future__ import annotations

import json
from collections import Counter

from journeyline.generate import GenerateSummary
from journeyline.generate.noise import REASON_CODES
from journeyline.schema import STREAMS
from tests.generate.generate_helpers import landing_lines, truth


def test_lines_equal_valid_plus_duplicates_plus_malformed(any_run: GenerateSummary) -> None:
    """Per stream, the line count reconciles exactly, as SPEC section 8 demands of the pipeline."""
    files = landing_lines(any_run.out)
    events = truth(any_run.out, "events")
    noise = truth(any_run.out, "noise")
    for stream in STREAMS:
        s = any_run.stream(stream)
        lines = sum(len(v) for k, v in files.items() if k.startswith(f"{stream}/"))
        valid = sum(1 for e in events if e["stream"] == stream)
        dups = sum(
            1 for n in noise if n["stream"] == stream and n["expected_outcome"] == "duplicate"
        )
        bad = Counter(
            n["expected_reason_code"]
            for n in noise
            if n["stream"] == stream and n["expected_outcome"] == "quarantined"
        )
        assert s.lines == lines == valid + dups + sum(bad.values())
        assert (s.valid_events, s.duplicates) == (valid, dups)
        assert {k: v for k, v in s.malformed.items() if v} == dict(bad)
        assert sorted(s.files) == sorted(k for k in files if k.startswith(f"{stream}/"))
    assert any_run.lines == sum(len(v) for v in files.values())


def test_summary_json_matches_the_summary(any_run: GenerateSummary) -> None:
    """summary.json, format() and the returned paths describe what is on disk."""
    on_disk = json.loads((any_run.out / "_truth" / "summary.json").read_text(encoding="utf-8"))
    assert on_disk == any_run.to_dict()
    text = any_run.format()
    assert f"{any_run.lines:,}" in text and "duplicates" in text and "malformed" in text
    assert all((any_run.out / f).is_file() for f in any_run.files)
    assert all(p.is_file() for p in any_run.truth.values())


def test_noise_rates_and_reason_codes(default_run: GenerateSummary) -> None:
    """About 1% duplicates, 0.5% malformed lines, and every reason code present."""
    valid = default_run.valid_events
    assert 0.006 < default_run.duplicates / valid < 0.014
    assert 0.003 < default_run.malformed / valid < 0.008
    codes = Counter(n["expected_reason_code"] for n in truth(default_run.out, "noise"))
    assert set(REASON_CODES) <= set(codes)


def test_noise_rows_point_at_real_lines(any_run: GenerateSummary) -> None:
    """Each noise row names a real line whose content matches its kind and outcome."""
    files = landing_lines(any_run.out)
    originals = {e["event_id"]: e for e in truth(any_run.out, "events")}
    positions = set()
    for row in truth(any_run.out, "noise"):
        line = files[row["file"]][row["line_number"] - 1]
        positions.add((row["file"], row["line_number"]))
        if row["expected_outcome"] == "duplicate":
            original = originals[row["event_id"]]
            assert line == files[original["file"]][original["line_number"] - 1]
            assert (row["file"], row["line_number"]) != (original["file"], original["line_number"])
            assert row["file"] >= original["file"]  # same or later month
            continue
        assert row["expected_outcome"] == "quarantined"
        code = row["expected_reason_code"]
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            assert code == "malformed_json", line
            continue
        if code == "not_an_object":
            assert not isinstance(value, dict)
            continue
        assert isinstance(value, dict) and code != "malformed_json", line
        assert value["event_id"] == row["event_id"]
        assert row["event_id"] not in originals
    noise = truth(any_run.out, "noise")
    assert len(positions) == len(noise)
    valid_positions = {(e["file"], e["line_number"]) for e in originals.values()}
    assert not positions & valid_positions
