"""The `journeyline` command line: argument parsing and error reporting, nothing else.

Each sub-command lives in its own module; this one turns their errors into a
message and an exit code (see journeyline.errors) instead of a traceback, and
passes unknown `--options` through to Beam (e.g. `--runner DataflowRunner`).
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import sys
import traceback
from contextlib import suppress
from datetime import date
from pathlib import Path

from journeyline.config import Config, ConfigError, load_config
from journeyline.errors import InputError, JourneylineError
from journeyline.memory import use_memory_pool

_QUIET_LOGGERS = ("apache_beam", "great_expectations", "dbt", "urllib3", "google")


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.ERROR)


def _cmd_generate(args: argparse.Namespace, _beam_args: list[str]) -> int:
    from journeyline.generate import generate

    if args.people < 1:
        raise InputError("--people must be at least 1")
    summary = generate(
        Path(args.out),
        people=args.people,
        seed=args.seed,
        start=args.start,
        days=args.days,
        profile=args.profile,
    )
    print(summary.format())
    return 0


def _with_landing(config: Config, folder: str | None) -> Config:
    """The configuration reading a landing folder in `generate` layout, when one is given."""
    if not folder:
        return config
    if not Path(folder).is_dir():
        raise InputError(
            f"the input folder {folder} does not exist",
            "run `journeyline generate --out DIR` first, or pass the landing folder that "
            "holds marketing/, sales/ and service/",
        )
    return config.with_input(folder)


def _cmd_run(args: argparse.Namespace, beam_args: list[str]) -> int:
    from journeyline.parse_server import start_early

    config = _with_landing(load_config(args.config), args.input)
    config = config.with_paths(lake=args.lake, warehouse=args.warehouse)
    start_early(config, beam_args)  # it imports while this process imports Beam below
    from journeyline.progress import Progress
    from journeyline.run import blocked_error, run_batch
    from journeyline.summary import format_run
    from journeyline.windows import Window

    window = Window.from_args(args.date, args.start, args.end)
    progress = Progress(
        total_steps=5 if config.warehouse.type == "bigquery" else 4, quiet=args.quiet
    )
    result = run_batch(config, beam_args, progress, full_refresh=args.full_refresh, window=window)
    if result is None:
        if window is not None:
            print(f"nothing to do: no input file lands in window {window}")
        else:
            print("up to date: no new input files since the published run")
        return 0
    print(format_run(result))
    print(f"manifest:  {result.manifest}")
    if result.status == "blocked":
        raise blocked_error(result)
    return 0


def _cmd_stream(args: argparse.Namespace, beam_args: list[str]) -> int:
    from journeyline.progress import Progress
    from journeyline.stream import check_stop_after, format_stream, run_stream

    config = _with_landing(load_config(args.config), args.input).with_paths(lake=args.lake)
    progress = Progress(total_steps=1, quiet=args.quiet)
    result = run_stream(config, beam_args, progress, check_stop_after(args.stop_after))
    print(format_stream(result))
    return 0 if result.submitted or result.reconciles else 4


def _cmd_forget(args: argparse.Namespace, beam_args: list[str]) -> int:
    from journeyline.forget import forget
    from journeyline.progress import Progress

    config = load_config(args.config).with_paths(lake=args.lake, warehouse=args.warehouse)
    progress = Progress(total_steps=4, quiet=args.quiet)
    result = forget(config, beam_args, progress, email=args.email, customer_id=args.customer_id)
    if result.run is None:
        print(
            f"{result.request_id}: no published customer matches; the identifier is suppressed "
            "so that it never enters"
        )
        return 0
    print(
        f"{result.request_id}: erased {result.customers} customer(s) from the lake, the "
        f"identity state and the warehouse; {result.identifiers} identifier(s) suppressed "
        f"(run {result.run.run_id}: {result.run.status})"
    )
    if result.run.status == "blocked":
        from journeyline.run import blocked_error

        raise blocked_error(result.run)
    return 0


def _cmd_evaluate(args: argparse.Namespace, _beam_args: list[str]) -> int:
    from journeyline.evaluate import evaluate

    warehouse = args.warehouse or load_config(args.config).warehouse.path
    print(evaluate(warehouse, args.truth).format())
    return 0


def _cmd_quality(args: argparse.Namespace, _beam_args: list[str]) -> int:
    from journeyline.reports.commands import quality

    return quality(args)


def _cmd_report(args: argparse.Namespace, _beam_args: list[str]) -> int:
    from journeyline.reports.commands import report

    return report(args)


def _cmd_docs(args: argparse.Namespace, _beam_args: list[str]) -> int:
    from journeyline.warehouse.docs import build_docs

    config = load_config(args.config).with_paths(lake=args.lake, warehouse=args.warehouse)
    print(f"warehouse docs: {build_docs(config, Path(args.out))}")
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day written YYYY-MM-DD") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="journeyline",
        description="One customer timeline from marketing, sales and service events.",
        epilog="Options the command does not know are passed to Apache Beam "
        "(e.g. --runner DataflowRunner --project P --region R --temp_location gs://…).",
    )
    parser.add_argument("--verbose", action="store_true", help="show the runners' own logs")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser(
        "generate", help="write realistic synthetic landing data with ground truth"
    )
    gen.add_argument("--out", required=True, help="landing folder to write (DIR/<stream>/*.jsonl)")
    gen.add_argument("--people", type=int, default=5000, help="number of people (default 5000)")
    gen.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    gen.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2025, 1, 1),
        help="first day of history, YYYY-MM-DD (default 2025-01-01)",
    )
    gen.add_argument("--days", type=int, default=365, help="days of history (default 365)")
    gen.add_argument(
        "--profile",
        default="default",
        choices=("default", "messy"),
        help="data profile (messy: heavier identity fragmentation)",
    )
    gen.set_defaults(func=_cmd_generate)

    run = sub.add_parser("run", help="the batch job: lake, warehouse, quality gates, publish")
    run.add_argument("--config", help="journeyline.yml (default: ./journeyline.yml or built-ins)")
    run.add_argument("--input", help="landing folder in `generate` layout, instead of the sources")
    run.add_argument("--warehouse", help="DuckDB warehouse file (overrides warehouse.path)")
    run.add_argument("--lake", help="lake folder (overrides lake)")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild from every input file instead of only the new ones",
    )
    run.add_argument(
        "--date",
        type=_day,
        help="run one day's window: the input files that landed that day (YYYY-MM-DD)",
    )
    run.add_argument("--start", type=_day, help="window start day, inclusive (YYYY-MM-DD)")
    run.add_argument("--end", type=_day, help="window end day, exclusive (YYYY-MM-DD)")
    run.set_defaults(func=_cmd_run)

    stream = sub.add_parser(
        "stream", help="the streaming job: timeline revisions and alerts in event time"
    )
    stream.add_argument(
        "--config", help="journeyline.yml (default: ./journeyline.yml or built-ins)"
    )
    stream.add_argument(
        "--input", help="landing folder in `generate` layout to watch, instead of the sources"
    )
    stream.add_argument("--lake", help="lake folder (overrides lake; output goes to <lake>/stream)")
    stream.add_argument(
        "--stop-after",
        type=float,
        metavar="SECONDS",
        help="stop cleanly after this many seconds (default: run until Ctrl-C)",
    )
    stream.add_argument("--quiet", action="store_true", help="no progress output")
    stream.set_defaults(func=_cmd_stream)
    fg = sub.add_parser(
        "forget", help="erase one person everywhere (GDPR) and suppress re-ingestion"
    )
    who = fg.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="the person's e-mail address (never printed or logged)")
    who.add_argument("--customer-id", help="the person's customer_id")
    fg.add_argument("--config", help="journeyline.yml (default: ./journeyline.yml or built-ins)")
    fg.add_argument("--warehouse", help="DuckDB warehouse file (overrides warehouse.path)")
    fg.add_argument("--lake", help="lake folder (overrides lake)")
    fg.add_argument("--quiet", action="store_true", help="no progress output")
    fg.set_defaults(func=_cmd_forget)

    ev = sub.add_parser("evaluate", help="score identity resolution against a ground-truth file")
    ev.add_argument("--truth", required=True, help="events.parquet (or its _truth folder)")
    ev.add_argument("--warehouse", help="DuckDB warehouse file (default: warehouse.path)")
    ev.add_argument("--config", help="journeyline.yml (default: ./journeyline.yml or built-ins)")
    ev.set_defaults(func=_cmd_evaluate)

    from journeyline.reports.commands import add_arguments

    add_arguments(sub, _cmd_quality, _cmd_report)
    docs = sub.add_parser("docs", help="the warehouse documentation as one offline HTML file")
    docs.add_argument("--config", help="journeyline.yml (default: ./journeyline.yml or built-ins)")
    docs.add_argument("--warehouse", help="DuckDB warehouse file (overrides warehouse.path)")
    docs.add_argument("--lake", help="lake folder (overrides lake)")
    docs.add_argument("--out", default="reports", help="folder to write into (default reports)")
    docs.set_defaults(func=_cmd_docs)
    return parser


# The commands that run a Beam job: options they do not know are Beam's.
_BEAM_COMMANDS = ("run", "stream", "forget")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    unknown = [a for a in beam_args if a.startswith("-") and args.command not in _BEAM_COMMANDS]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    _configure_logging(args.verbose)
    try:
        if args.command in _BEAM_COMMANDS:
            from journeyline.dataflow import check_runners

            check_runners(beam_args)
        return int(args.func(args, beam_args) or 0)
    except ConfigError as exc:
        print(f"journeyline: configuration error: {exc}", file=sys.stderr)
        return 2
    except JourneylineError as exc:
        print(f"journeyline: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("journeyline: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal error: say so plainly, traceback on request
        if args.debug:
            traceback.print_exc()
        print(
            f"journeyline: internal error: {type(exc).__name__}: {exc}\n"
            "  re-run with --debug for the traceback and report it",
            file=sys.stderr,
        )
        return 1


def _end_process(outcome: dict[str, int]) -> None:
    """The last exit handler: end the process once every other handler has run.

    By then the command is over and everything it wrote is closed; what remains of the
    interpreter's shutdown is tearing down every module Beam, dbt and Great Expectations
    imported, with a garbage collection pass after each round (2-3 s after a `run`), for
    a process whose memory the system takes back anyway. A command that did not return
    (argparse's own exit, an error that escaped ``main``) shuts down as usual.
    """
    if "code" not in outcome:
        return
    logging.shutdown()  # the one handler registered before this one (by `import logging`)
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe or file takes nothing more
            stream.flush()
    os._exit(outcome["code"])


def console_main() -> None:
    """The `journeyline` program: ``main`` with the process ended without the teardown.

    Exit handlers run last-registered first, so the one registered here, before the
    command imports anything, runs after every handler the command's libraries register.
    """
    use_memory_pool()  # Arrow's allocator, for this process and those it starts
    outcome: dict[str, int] = {}
    atexit.register(_end_process, outcome)
    outcome["code"] = main()
    sys.exit(outcome["code"])


if __name__ == "__main__":
    console_main()
