"""The benchmark runner works: inputs are generated and cached, the reference runs and
agrees with the generator's truth, results are written and tabled (tiny input)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks.run import (
    GB,
    compare,
    dbt_parse,
    ensure_input,
    evaluate_targets,
    format_table,
    main,
    measure,
    parse_size,
    run_reference,
    write_results,
)

PEOPLE = 200


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("bench-cache")
    folder = ensure_input(cache, PEOPLE, seed=3)
    assert ensure_input(cache, PEOPLE, seed=3) == folder  # cached: generated once
    return folder


def test_sizes_parse() -> None:
    assert parse_size("1M") == ("1M", 36_000)
    assert parse_size("200p") == ("200p", 200)
    with pytest.raises(ValueError):
        parse_size("2 million")


def test_measure_reports_wall_time_and_peak_rss(tmp_path: Path) -> None:
    code = "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"
    m = measure([sys.executable, "-c", code], {}, tmp_path / "child.log")
    assert m.returncode == 0
    assert m.peak_rss >= 200 * 1024 * 1024
    assert m.seconds > 0


def test_reference_agrees_with_the_generators_truth(landing: Path, tmp_path: Path) -> None:
    ref = run_reference(landing, tmp_path)
    truth = json.loads((landing / "_truth" / "summary.json").read_text())
    valid = truth["lines"] - truth["duplicates"] - truth["malformed"]
    assert ref["input_lines"] == truth["lines"]
    # the reference applies the contract's main rules, not every one of them
    assert abs(ref["accepted_events"] - valid) <= 0.01 * valid
    assert ref["timeline_rows"] == ref["accepted_events"]
    assert 0 < ref["customers"] <= PEOPLE
    assert ref["seconds"] > 0 and ref["peak_rss"] > 0


def test_results_are_written_and_tabled(landing: Path, tmp_path: Path) -> None:
    ref = run_reference(landing, tmp_path / "work")
    # journeyline's side as the runner reads it from a run's manifest (here: the
    # reference's own figures, so the expected ratios are known)
    jl = {
        "seconds": ref["seconds"] * 2,
        "peak_rss": ref["peak_rss"],
        "status": "published",
        "phases": {"beam": ref["seconds"], "dbt": 1.0, "gates": 0.5, "publish": 0.2},
        "counts": {"input_count": ref["input_lines"], "accepted_count": ref["accepted_events"]},
        "customers": ref["customers"],
        "dbt_parse": "saved",
    }
    row = compare("200p", PEOPLE, ref, jl)
    assert row["ratios"] == {"beam": 1.0, "whole": 2.0, "peak_rss": 1.0}
    assert row["sanity"]["accepted_diff"] == 0
    results = {"started_at": "2026-01-02T03:04:05Z", "sizes": [row]}
    results["targets"] = evaluate_targets([row])
    assert {t["status"] for t in results["targets"]} == {"n/a"}  # no 1M, no 3M
    path = write_results(results, tmp_path / "results")
    assert json.loads(path.read_text()) == json.loads((path.parent / "latest.json").read_text())
    table = format_table(results)
    assert "| 200p |" in table and "1.0×" in table and "2.0×" in table
    assert "each run (full, or a saved one): 200p saved." in table


def test_a_runs_dbt_parse_is_read_from_what_it_added_to_the_log(tmp_path: Path) -> None:
    log = tmp_path / "dbt.log"
    assert dbt_parse(log, 0) == "unknown"
    log.write_text("Unable to do partial parsing because saved manifest not found.\n")
    earlier = log.stat().st_size
    assert dbt_parse(log, 0) == "full"
    with log.open("a") as out:
        out.write("Partial parsing enabled, no changes found, skipping parsing\n")
    assert dbt_parse(log, earlier) == "saved"  # the earlier run's full parse is not this one's


def test_targets_pass_and_miss_honestly() -> None:
    def row(size: str, lines: int, beam: float, whole: float, rss: float) -> dict:
        return {
            "size": size,
            "input_lines": lines,
            "journeyline": {
                "phases_s": {"beam": beam},
                "whole_s": whole,
                "beam_events_per_s": round(lines / beam),
                "peak_rss": int(rss * GB),
            },
        }

    rows = [row("100k", 100_000, 1.0, 20.0, 1), row("1M", 1_000_000, 12.5, 45.0, 5)]
    rows.append(row("3M", 3_000_000, 30.0, 150.0, 6))
    status = {t["target"]: t["status"] for t in evaluate_targets(rows)}
    assert status["Beam events/s at 1M"] == "MISS"  # 80k ev/s
    assert status["whole run at 1M"] == "pass"
    assert status["peak RSS at 1M"] == "MISS"
    assert status["Beam time per event, 100k→3M"] == "pass"  # 1.0 → 1.0
    assert status["whole run time per event, 100k→3M"] == "MISS"  # 0.2 → 0.05 ms


@pytest.mark.slow
def test_whole_bench_on_a_tiny_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``python -m benchmarks`` end to end (a full journeyline run, so: slow)."""
    assert main(["--sizes", "200p", "--cache", str(tmp_path), "--results", str(tmp_path)]) == 0
    latest = json.loads((tmp_path / "latest.json").read_text())
    (row,) = latest["sizes"]
    assert row["journeyline"]["status"] == "published"
    assert abs(row["sanity"]["accepted_diff_pct"]) < 1
    # the last month alone, ingested on top of the earlier ones
    increment = row["increment"]
    assert increment["status"] == "published"
    assert 0 < increment["input_lines"] < row["input_lines"] / 4
    out = capsys.readouterr().out
    assert "| 200p |" in out and f"| 200p | {increment['month']} |" in out


def test_identity_alone_resolves_every_generated_person(
    landing: Path, capsys: pytest.CaptureFixture
) -> None:
    """`python -m benchmarks.identity`: the batch identity functions in one process."""
    from benchmarks.identity import main as identity_main

    assert identity_main([str(landing)]) == 0
    out = capsys.readouterr().out
    assert f"→ {PEOPLE:,} customers" in out and "identity resolution" in out


def test_the_parse_hot_spot_is_timed_against_json_readers(landing: Path) -> None:
    """`python -m benchmarks.parse`: every line of the sampled files parsed three ways, and
    the table shows the ratios the rounds compare."""
    from benchmarks.parse import measure as measure_parse
    from benchmarks.run import format_parse

    lines = sum(len(p.read_bytes().splitlines()) for p in landing.glob("*/*.jsonl"))
    result = measure_parse(str(landing), lines=10**9)  # every file
    assert result["lines"] == lines
    us = result["us_per_line"]
    assert min(us.values()) > 0
    assert result["journeyline_per_orjson"] == pytest.approx(
        us["journeyline"] / us["orjson"], rel=0.02
    )
    table = format_parse([{"size": "200p", "parse": result}])
    assert table[2].startswith(f"| 200p | {lines:,} |")


def test_a_landing_folder_that_is_not_there_is_explained_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The benchmark commands that read a landing folder say what is wrong and how to fix
    it, with the input exit code, for a folder that is missing or holds no lines."""
    from benchmarks.identity import main as identity_main
    from benchmarks.parse import main as parse_main

    missing = str(tmp_path / "nowhere")
    for command, prog in ((parse_main, "benchmarks.parse"), (identity_main, "benchmarks.identity")):
        assert command([missing]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"python -m {prog}: source 'marketing'") and "fix:" in err
        assert "Traceback" not in err
    for source in ("marketing", "sales", "service"):
        (tmp_path / "empty" / source).mkdir(parents=True)
    assert parse_main([str(tmp_path / "empty")]) == 2
    assert "no lines to parse in" in capsys.readouterr().err
