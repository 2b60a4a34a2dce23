"""The `journeyline quality` and `journeyline report` commands: options in, files and lines out.

Both write into ``--out`` (default: ``reports/`` beside the warehouse file) and,
with ``--screenshot``, a PNG of each page when a Chromium is installed; without
one they still succeed and say how to get screenshots.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from journeyline.config import Config, load_config
from journeyline.errors import GateBlocked, InputError
from journeyline.reports import browser

JOURNEY_REPORT = "journey.html"


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    return config.with_paths(lake=getattr(args, "lake", None), warehouse=args.warehouse)


def _out_dir(args: argparse.Namespace, config: Config) -> Path:
    return Path(args.out) if args.out else Path(config.warehouse.path).parent / "reports"


def _screenshot(html: Path, wanted: bool) -> str:
    """One 'screenshot: …' line, or nothing when not asked for."""
    if not wanted:
        return ""
    chromium = browser.find_chromium()
    if chromium is None:
        return f"  screenshot:  none ({browser.INSTALL_HINT})\n"
    try:
        png = browser.screenshot(html, html.with_suffix(".png"), browser=chromium)
    except browser.BrowserError as exc:
        return f"  screenshot:  none ({exc})\n"
    return f"  screenshot:  {png}\n"


Handler = Callable[[argparse.Namespace, list[str]], int]


def add_arguments(
    sub: argparse._SubParsersAction, run_quality: Handler, run_report: Handler
) -> None:
    """The two sub-commands and their options (``run_*`` are the handlers)."""
    quality = sub.add_parser(
        "quality", help="re-check the published tables; build the data-quality report"
    )
    quality.add_argument("--config", help="journeyline.yml (default: ./journeyline.yml)")
    quality.add_argument("--warehouse", help="DuckDB warehouse file (overrides warehouse.path)")
    quality.add_argument("--lake", help="lake folder whose run log gets the results")
    quality.add_argument("--out", help="report folder (default: reports/ beside the warehouse)")
    quality.add_argument("--screenshot", action="store_true", help="also write quality.png")
    quality.add_argument(
        "--no-data-docs", action="store_true", help="skip the Great Expectations Data Docs"
    )
    quality.set_defaults(func=run_quality)

    report = sub.add_parser("report", help="the journey report: funnels, stage flow, CX")
    report.add_argument("--config", help="journeyline.yml (default: ./journeyline.yml)")
    report.add_argument("--warehouse", help="DuckDB warehouse file (overrides warehouse.path)")
    report.add_argument("--out", help="report folder (default: reports/ beside the warehouse)")
    report.add_argument("--screenshot", action="store_true", help="also write journey.png")
    report.set_defaults(func=run_report)


def quality(args: argparse.Namespace) -> int:
    """Run the checks on the published tables and write the DQ report (+ Data Docs)."""
    from journeyline.quality import summarise
    from journeyline.quality.on_demand import run_quality

    config = _config(args)
    out = _out_dir(args, config)
    started = time.perf_counter()
    outcome = run_quality(config, out, data_docs=not args.no_data_docs)
    elapsed = time.perf_counter() - started
    lines = [summarise(outcome.checks), ""]
    lines += [f"note: {n}" for n in outcome.notes]
    lines.append(f"checked the published run {outcome.published_run_id} as {outcome.run_id}")
    lines.append(f"  report:      {outcome.report}  ({elapsed:.1f}s)")
    if outcome.data_docs:
        lines.append(f"  data docs:   {outcome.data_docs}")
    print("\n".join(lines))
    print(_screenshot(outcome.report, args.screenshot), end="")
    failing = outcome.failing_errors
    if failing:
        listed = "\n".join("  " + c.message() for c in failing)
        raise GateBlocked(
            f"the published tables fail {len(failing)} error-severity check(s):\n{listed}",
            f"see {outcome.report}; the next `journeyline run` with fixed input or thresholds "
            "replaces them",
        )
    return 0


def report(args: argparse.Namespace) -> int:
    """Write the journey report of the published schema."""
    from journeyline.reports.journey_report import ReportError, build_journey_report
    from journeyline.warehouse.publish import connect

    config = _config(args)
    if not Path(config.warehouse.path).is_file():
        raise InputError(
            f"the warehouse {config.warehouse.path} does not exist",
            "run `journeyline run` first, or pass --warehouse PATH",
        )
    out = _out_dir(args, config) / JOURNEY_REPORT
    started = time.perf_counter()
    con = connect(config.warehouse.path, read_only=True)
    try:
        path = build_journey_report(con, config.warehouse.schema, out)
    except ReportError as exc:
        raise InputError(str(exc), "run `journeyline run` until a run is published") from None
    finally:
        con.close()
    print(f"journey report of schema {config.warehouse.schema}")
    print(f"  report:      {path}  ({time.perf_counter() - started:.1f}s)")
    print(_screenshot(path, args.screenshot), end="")
    return 0
