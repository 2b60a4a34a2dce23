"""The benchmark runner: journeyline against the DuckDB reference, size by size.

For each size it makes (or reuses) a seeded generated landing folder, then runs two
measured child processes on it: the reference (benchmarks/reference.py) and a full
``journeyline run`` into a fresh lake and warehouse. Wall time and peak RSS come from
the child itself (``os.wait4``: the largest resident set of the child and anything it
waited for); the per-phase times (beam, dbt, gates, publish) come from the run's own
manifest. Then the parse hot spot per line against JSON readers (benchmarks/parse.py),
and, unless ``--no-increment``, the size's last month as an incremental run on a lake
holding the earlier ones (benchmarks/increment.py). Results go to
``<results>/<timestamp>.json`` and ``latest.json``, and tables are printed. Not part of
``make test``: ``make bench`` or ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.increment import measure_increment
from benchmarks.scaling import TOLERANCE, format_scaling, scaling
from journeyline.errors import JourneylineError

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"100k": 3_600, "1M": 36_000, "3M": 108_000}  # people ≈ events / 27.6
DEFAULT_SIZES = "100k,1M,3M"
DEFAULT_SEED = 7
# Synthetic data only: a public key so the run's privacy hashing works.
BENCH_HASH_KEY = "BENCH-ONLY-journeyline-hash-key-not-a-secret"
PHASES = ("beam", "dbt", "gates", "publish")
TARGETS = {
    "at": "1M",
    "beam_events_per_s": 100_000,
    "whole_run_s": 60.0,
    "peak_rss_gb": 4.0,
    "linear_tolerance": TOLERANCE,
}
GB = 1024**3
PART_PEOPLE = 36_000  # the most people one `journeyline generate` makes for the benchmark


Main = Callable[[list[str] | None], int]


def explained(prog: str) -> Callable[[Main], Main]:
    """A benchmark command's errors that a user can act on (a landing folder that is not
    there, say) printed as journeyline's own commands print them, not as a traceback."""

    def wrap(main: Main) -> Main:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            try:
                return main(argv)
            except JourneylineError as exc:
                print(f"{prog}: {exc}", file=sys.stderr)
                return exc.exit_code

        return run

    return wrap


@dataclass
class Measurement:
    """One child process: wall seconds, peak RSS in bytes, exit code."""

    seconds: float
    peak_rss: int
    returncode: int


def measure(command: list[str], env: dict[str, str], log: Path) -> Measurement:
    """Run ``command`` as a child, its output to ``log``; time it and take its peak RSS."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux
    return Measurement(seconds, int(usage.ru_maxrss) * 1024, child.returncode)


def parse_size(text: str) -> tuple[str, int]:
    """A size name (100k, 1M, 3M) or a number of people (``200p``) → (name, people)."""
    text = text.strip()
    if text in SIZES:
        return text, SIZES[text]
    if text.endswith("p") and text[:-1].isdigit():
        return text, int(text[:-1])
    raise ValueError(f"unknown size {text!r}: use {', '.join(SIZES)} or e.g. 200p")


def child_env() -> dict[str, str]:
    """The environment of measured children: this checkout first on the path, the bench key."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("JOURNEYLINE_HASH_KEY", BENCH_HASH_KEY)
    return env


def _generate(folder: Path, people: int, seed: int) -> None:
    """``journeyline generate`` into ``folder`` (via a temporary name, so a cut-off run
    never leaves a half folder that looks cached)."""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    command = [sys.executable, "-m", "journeyline.cli", "generate", "--out", str(tmp)]
    command += ["--people", str(people), "--seed", str(seed)]
    subprocess.run(command, check=True, env=child_env(), cwd=ROOT, stdout=subprocess.DEVNULL)
    tmp.rename(folder)


def _compose(folder: Path, parts: list[Path]) -> None:
    """One landing folder made of several generated ones: their files hard-linked side by
    side (prefixed by part), and a summed summary of their truth."""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    totals: dict[str, Any] = {"lines": 0, "duplicates": 0, "malformed": 0, "people": 0}
    for i, part in enumerate(parts, start=1):
        for source in part.iterdir():
            if source.name.startswith("_") or not source.is_dir():
                continue
            (tmp / source.name).mkdir(parents=True, exist_ok=True)
            for file in source.glob("*.jsonl"):
                target = tmp / source.name / f"part{i}-{file.name}"
                try:
                    os.link(file, target)
                except OSError:
                    shutil.copy2(file, target)
        summary = json.loads((part / "_truth" / "summary.json").read_text(encoding="utf-8"))
        for key in totals:
            totals[key] += int(summary[key])
    (tmp / "_truth").mkdir(parents=True)
    totals["parts"] = [p.name for p in parts]
    (tmp / "_truth" / "summary.json").write_text(json.dumps(totals, indent=1), encoding="utf-8")
    tmp.rename(folder)


def ensure_input(cache: Path, people: int, seed: int) -> Path:
    """The landing folder for ``people`` at ``seed``, generated once and then reused.

    The generator holds a whole population in memory (about 6 GB at 36,000 people), so a
    larger size is made of parts of at most ``PART_PEOPLE`` people with seeds ``seed``,
    ``seed + 1`` …: independent populations of the same shape, side by side.
    """
    name = f"p{people}" if seed == DEFAULT_SEED else f"p{people}-s{seed}"
    folder = cache / name
    if (folder / "_truth" / "summary.json").is_file():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    if people <= PART_PEOPLE:
        _generate(folder, people, seed)
        return folder
    count = -(-people // PART_PEOPLE)
    parts = [ensure_input(cache, people // count, seed + i) for i in range(count)]
    _compose(folder, parts)
    return folder


def run_reference(landing: Path, work: Path) -> dict[str, Any]:
    """The reference in its own process: its counts, wall time and peak RSS."""
    result = work / "reference.json"
    command = [sys.executable, "-m", "benchmarks.reference", str(landing), str(work / "ref")]
    command.append(str(result))
    m = measure(command, child_env(), work / "reference.log")
    if m.returncode != 0:
        raise RuntimeError(f"the reference failed; see {work / 'reference.log'}")
    data = json.loads(result.read_text(encoding="utf-8"))
    data["seconds_by_part"] = data.pop("seconds")
    return {**data, "seconds": round(m.seconds, 3), "peak_rss": m.peak_rss}


def run_parse(landing: Path, work: Path) -> dict[str, Any]:
    """The parse hot spot per line against JSON readers, in a child process of its own
    (``benchmarks.parse``: a fresh interpreter, like a parse worker)."""
    result = work / "parse.json"
    command = [sys.executable, "-m", "benchmarks.parse", str(landing), "--json", str(result)]
    m = measure(command, child_env(), work / "parse.log")
    if m.returncode != 0:
        raise RuntimeError(f"the parse benchmark failed; see {work / 'parse.log'}")
    return json.loads(result.read_text(encoding="utf-8"))


def run_journeyline(
    landing: Path,
    work: Path,
    full_refresh: bool = True,
    log: str = "journeyline.log",
    config: Path | None = None,
) -> dict[str, Any]:
    """``journeyline run`` into ``work``'s lake and warehouse (a full refresh, or only the
    files that lake has not ingested yet; built-in configuration unless ``config``):
    wall, RSS, phases, counts."""
    lake, warehouse = work / "lake", work / "warehouse.duckdb"
    dbt_log = lake / "_dbt" / "logs" / "dbt.log"
    logged = dbt_log.stat().st_size if dbt_log.exists() else 0
    command = [sys.executable, "-m", "journeyline.cli", "run", "--input", str(landing)]
    command += ["--lake", str(lake), "--warehouse", str(warehouse), "--quiet"]
    command += ["--full-refresh"] if full_refresh else []
    command += ["--config", str(config)] if config else []
    m = measure(command, child_env(), work / log)
    # this run's manifest: the newest (names start with a hash of the run, not its time)
    manifests = sorted((lake / "_manifests").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    if m.returncode != 0 or not manifests:
        raise RuntimeError(f"journeyline run failed ({m.returncode}); see {work / log}")
    manifest = json.loads(manifests[-1].read_text(encoding="utf-8"))
    return {
        "seconds": round(m.seconds, 3),
        "peak_rss": m.peak_rss,
        "status": manifest["status"],
        "phases": manifest.get("phases_s", {}),
        "counts": manifest["counts"],
        "customers": manifest["customers"],
        "dbt_parse": dbt_parse(dbt_log, logged),
        "arrow_memory_pool": manifest.get("arrow_memory_pool"),
    }


def dbt_parse(log: Path, offset: int) -> str:
    """How this run's dbt started, from what its calls added to the lake's dbt log after
    ``offset``: "full" when dbt parsed the whole project (no saved parse held), "saved"
    when it started from a saved one (the lake's, or the cached parse of an earlier lake)."""
    if not log.exists():
        return "unknown"
    with log.open("rb") as handle:
        handle.seek(offset)
        added = handle.read().decode("utf-8", errors="replace")
    return "full" if "Unable to do partial parsing" in added else "saved"


def compare(size: str, people: int, ref: dict[str, Any], jl: dict[str, Any]) -> dict[str, Any]:
    """One size's row: journeyline's figures, the reference's, the ratios, the sanity check."""
    lines = int(jl["counts"]["input_count"])
    phases = jl["phases"]
    beam = float(phases.get("beam", 0.0))
    ref_s = float(ref["seconds"])
    accepted = int(jl["counts"]["accepted_count"])
    return {
        "size": size,
        "people": people,
        "input_lines": lines,
        "journeyline": {
            "whole_s": jl["seconds"],
            "phases_s": {p: phases.get(p) for p in PHASES},
            "beam_events_per_s": round(lines / beam) if beam else None,
            "whole_events_per_s": round(lines / jl["seconds"]),
            "peak_rss": jl["peak_rss"],
            "status": jl["status"],
            "accepted": accepted,
            "customers": jl["customers"],
            "dbt_parse": jl.get("dbt_parse"),
            "arrow_memory_pool": jl.get("arrow_memory_pool"),
        },
        "reference": {
            "seconds": ref_s,
            "events_per_s": round(lines / ref_s),
            "peak_rss": ref["peak_rss"],
            "accepted": ref["accepted_events"],
            "customers": ref["customers"],
            "parts_s": ref["seconds_by_part"],
        },
        "ratios": {
            "beam": round(beam / ref_s, 2),
            "whole": round(jl["seconds"] / ref_s, 2),
            "peak_rss": round(jl["peak_rss"] / max(ref["peak_rss"], 1), 2),
        },
        "sanity": {
            "accepted_diff": accepted - int(ref["accepted_events"]),
            "accepted_diff_pct": round(100 * (accepted / max(ref["accepted_events"], 1) - 1), 3),
            "customers_diff_pct": round(
                100 * ((jl["customers"] or 0) / max(ref["customers"], 1) - 1), 3
            ),
        },
    }


def evaluate_targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of the issue with what was measured and pass / miss (n/a if not run)."""
    by_size = {r["size"]: r for r in rows}
    at = by_size.get(TARGETS["at"])
    out: list[dict[str, Any]] = []

    def add(name: str, goal: str, value: float | None, ok: bool | None, shown: str) -> None:
        status = "n/a" if ok is None else ("pass" if ok else "MISS")
        out.append({"target": name, "goal": goal, "value": value, "shown": shown, "status": status})

    if at is None:
        add(f"targets at {TARGETS['at']}", "run --sizes with 1M", None, None, "not run")
    else:
        jl = at["journeyline"]
        eps = jl["beam_events_per_s"]
        add("Beam events/s at 1M", ">= 100,000", eps, eps >= TARGETS["beam_events_per_s"],
            f"{eps:,}")  # fmt: skip
        add("whole run at 1M", "<= 60 s", jl["whole_s"], jl["whole_s"] <= TARGETS["whole_run_s"],
            f"{jl['whole_s']:.1f} s")  # fmt: skip
        gb = jl["peak_rss"] / GB
        add("peak RSS at 1M", "<= 4 GB", round(gb, 2), gb <= TARGETS["peak_rss_gb"], f"{gb:.2f} GB")
    per_event = {
        "Beam": lambda r: r["journeyline"]["phases_s"]["beam"] / r["input_lines"],
        "whole run": lambda r: r["journeyline"]["whole_s"] / r["input_lines"],
    }
    # The target spans 100k→3M; 1M→3M is shown beside it (not a target) because fixed
    # costs (graph building, dbt parsing) dominate a 100k run and flatter its growth.
    for first, target in (("100k", True), ("1M", False)):
        small, large = by_size.get(first), by_size.get("3M")
        for label, of in per_event.items():
            name = f"{label} time per event, {first}→3M" + ("" if target else " (info)")
            goal = f"3M/{first} within ±30%"
            if small is None or large is None:
                if target:
                    add(name, goal, None, None, f"needs {first} and 3M")
                continue
            ratio = of(large) / of(small)
            ok = abs(ratio - 1) <= TARGETS["linear_tolerance"]
            if target:
                add(name, goal, round(ratio, 2), ok, f"{ratio:.2f}×")
            else:
                out.append(
                    {
                        "target": name,
                        "goal": goal,
                        "value": round(ratio, 2),
                        "shown": f"{ratio:.2f}×",
                        "status": "info: " + ("within" if ok else "outside"),
                    }
                )
    return out


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import apache_beam
    import duckdb

    try:
        import psutil

        memory = round(psutil.virtual_memory().total / GB, 1)
    except ImportError:  # pragma: no cover - psutil is in the dev extra
        memory = None
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    ) if Path("/proc/cpuinfo").is_file() else platform.processor()  # fmt: skip
    return {
        "nproc": os.cpu_count(),
        "ram_gb": memory,
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "beam": apache_beam.__version__,
        "beam_runner": (
            "DirectRunner, in_memory, 1 worker; files parsed by one process per core and"
            " events joined to customers by broadcast (journeyline's local defaults)"
        ),
        "duckdb": duckdb.__version__,
    }


def commit() -> str | None:
    """The checked-out commit, if this is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def write_results(results: dict[str, Any], folder: Path) -> Path:
    """``<folder>/<timestamp>.json`` and a copy as ``latest.json``; returns the first."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{results['started_at'].replace(':', '').replace('-', '')}.json"
    text = json.dumps(results, indent=1) + "\n"
    path.write_text(text, encoding="utf-8")
    (folder / "latest.json").write_text(text, encoding="utf-8")
    return path


def _gb(value: int) -> str:
    return f"{value / GB:.2f}"


def _size_table(
    rows: list[dict[str, Any]], key: str, header: list[str], cells: Callable[[dict], list[str]]
) -> list[str]:
    """A Markdown table of the sizes whose row has ``key``, as lines (none if none)."""
    rows = [r for r in rows if r.get(key)]
    if not rows:
        return []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cells(r)) + " |" for r in rows]


def format_increments(rows: list[dict[str, Any]]) -> list[str]:
    """The increment of each size that has one, as Markdown table lines (none if none)."""

    def cells(r: dict[str, Any]) -> list[str]:
        inc, ph = r["increment"], r["increment"]["phases_s"]
        return [
            r["size"],
            inc["month"],
            f"{inc['input_lines']:,}",
            f"{inc['first_run_s']:.1f}",
            f"{inc['whole_s']:.1f}",
            *(f"{ph[phase]:.1f}" for phase in ("beam", "dbt", "gates", "publish")),
            _gb(inc["peak_rss"]),
            f"{inc['whole_s'] / r['journeyline']['whole_s']:.2f}×",
        ]

    header = ["size", "new month", "new events", "first run s (earlier months)"]
    header += ["increment run s", "Beam s", "dbt s", "gates s", "publish s", "peak RSS GB"]
    return _size_table(rows, "increment", [*header, "increment / whole run"], cells)


def format_parse(rows: list[dict[str, Any]]) -> list[str]:
    """The parse hot spot of each size that has one, as Markdown table lines (none if none)."""

    def cells(r: dict[str, Any]) -> list[str]:
        p, us = r["parse"], r["parse"]["us_per_line"]
        return [
            r["size"],
            f"{p['lines']:,}",
            *(f"{us[name]:.2f}" for name in ("journeyline", "orjson", "duckdb")),
            f"{p['journeyline_per_orjson']:.1f}×",
            f"{p['journeyline_per_duckdb']:.1f}×",
        ]

    header = ["size", "lines parsed", "journeyline µs/line", "orjson.loads µs/line"]
    header += ["DuckDB read_json µs/line", "journeyline / orjson", "journeyline / DuckDB"]
    return _size_table(rows, "parse", header, cells)


def format_table(results: dict[str, Any]) -> str:
    """The results as Markdown tables: sizes, targets, the sanity check, with two sizes
    or more how each time grows (fixed seconds and cost per event), the parse per line,
    and the increments."""
    head = (
        "| size | events | Beam s | Beam ev/s | dbt s | gates s | publish s | whole run s "
        "| peak RSS GB | reference s | ref RSS GB | Beam / ref | whole / ref |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in results["sizes"]:
        jl, ref, ph = r["journeyline"], r["reference"], r["journeyline"]["phases_s"]
        lines.append(
            f"| {r['size']} | {r['input_lines']:,} | {ph['beam']:.1f} | "
            f"{jl['beam_events_per_s']:,} | {ph['dbt']:.1f} | {ph['gates']:.1f} | "
            f"{ph['publish']:.1f} | {jl['whole_s']:.1f} | {_gb(jl['peak_rss'])} | "
            f"{ref['seconds']:.1f} | {_gb(ref['peak_rss'])} | {r['ratios']['beam']:.1f}× | "
            f"{r['ratios']['whole']:.1f}× |"
        )
    parses = ", ".join(f"{r['size']} {r['journeyline'].get('dbt_parse')}" for r in results["sizes"])
    lines += ["", f"dbt's parse at the start of each run (full, or a saved one): {parses}."]
    lines += ["", "| target | goal | measured | status |", "|---|---|---|---|"]
    lines += [
        f"| {t['target']} | {t['goal']} | {t['shown']} | {t['status']} |"
        for t in results["targets"]
    ]
    lines += [
        "",
        "| size | accepted: journeyline / reference | customers: journeyline / reference |",
        "|---|---|---|",
    ]
    for r in results["sizes"]:
        jl, ref, s = r["journeyline"], r["reference"], r["sanity"]
        lines.append(
            f"| {r['size']} | {jl['accepted']:,} / {ref['accepted']:,} "
            f"({s['accepted_diff_pct']:+.2f}%) | {jl['customers']:,} / {ref['customers']:,} "
            f"({s['customers_diff_pct']:+.2f}%) |"
        )
    extras = (
        format_scaling(results.get("scaling", [])),
        format_parse(results["sizes"]),
        format_increments(results["sizes"]),
    )
    for extra in extras:
        lines += ["", *extra] if extra else []
    return "\n".join(lines)


def bench_size(
    size: str, people: int, cache: Path, seed: int, keep: bool, increment: bool = True
) -> dict[str, Any]:
    """Generate (or reuse) one size's input and measure the reference and journeyline on it
    (and, with ``increment``, its last month as an incremental run: benchmarks.increment)."""
    landing = ensure_input(cache, people, seed)
    work = cache / "_work" / size
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"[{size}] reference (DuckDB SQL) on {landing} …", file=sys.stderr, flush=True)
    ref = run_reference(landing, work)
    print(f"[{size}] reference {ref['seconds']:.1f} s; journeyline run …", file=sys.stderr)
    jl = run_journeyline(landing, work)
    print(f"[{size}] journeyline run {jl['seconds']:.1f} s", file=sys.stderr, flush=True)
    row = compare(size, people, ref, jl)
    print(f"[{size}] the parse hot spot per line …", file=sys.stderr, flush=True)
    row["parse"] = run_parse(landing, work)
    if increment:
        print(f"[{size}] all but the last month, then that month …", file=sys.stderr)
        row["increment"] = measure_increment(landing, work, run_journeyline)
        inc = row["increment"]
        print(f"[{size}] increment run {inc['whole_s']:.1f} s", file=sys.stderr, flush=True)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks [--sizes 100k,1M] [--cache DIR] [--results DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="e.g. 100k,1M,3M or 200p")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("JOURNEYLINE_BENCH_CACHE", ROOT / "data" / "bench")),
        help="where generated inputs are kept between runs (default data/bench, or "
        "$JOURNEYLINE_BENCH_CACHE)",
    )
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--keep", action="store_true", help="keep each size's lake and warehouse")
    parser.add_argument(
        "--no-increment",
        dest="increment",
        action="store_false",
        help="skip the incremental run of each size's last month (two more runs a size)",
    )
    args = parser.parse_args(argv)
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError as exc:
        parser.error(str(exc))
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [
        bench_size(name, people, args.cache, args.seed, args.keep, args.increment)
        for name, people in sizes
    ]
    results = {
        "started_at": started,
        "commit": commit(),
        "machine": machine(),
        "seed": args.seed,
        "targets_spec": TARGETS,
        "sizes": rows,
        "targets": evaluate_targets(rows),
        "scaling": scaling(rows),
    }
    path = write_results(results, args.results)
    print(format_table(results))
    print(f"\nresults: {path}")
    return 0
