"""`journeyline run`: the scheduled batch job, end to end, with write-audit-publish.

1. Beam: sources → contract/quarantine → de-dup → identity → timeline → a new lake attempt.
2. dbt build into the staging schema: the models and their data tests (unit tests run in CI).
3. Quality gates (Great Expectations + dbt tests + pipeline facts) → dq_results.
4. Publish: error gates passed → every contract table swaps in one transaction and
   the lake's CURRENT pointer moves; blocked → only the run log is published.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from journeyline import state
from journeyline.config import Config
from journeyline.config.model import is_local_runner
from journeyline.dataflow import with_setup_file, worker_paths
from journeyline.errors import GateBlocked, JourneylineError, PipelineError
from journeyline.inputs import discover, fingerprint
from journeyline.lake import Lake
from journeyline.manifest import Manifest
from journeyline.ops import RunLog, RunRecord, ensure_nonempty, write_atomic
from journeyline.progress import READS, Progress
from journeyline.quality import CheckResult, to_arrow
from journeyline.schema import (
    IDENTITY_CONFLICTS_SCHEMA,
    IDENTITY_EDGES_SCHEMA,
    IDENTITY_MAP_SCHEMA,
    IDENTITY_MERGES_SCHEMA,
    QUARANTINE_SCHEMA,
    TIMELINE_SCHEMA,
)
from journeyline.suppressions import load_suppressions
from journeyline.warehouse import bigquery
from journeyline.warehouse.dbt_runner import DbtOutcome
from journeyline.warehouse.project import dbt_args, lake_env
from journeyline.warehouse.publish import DATA_TABLES, OPS_TABLES, connect, publish, quote
from journeyline.warehouse.worker import WarehouseWorker
from journeyline.windows import Plan, Window, describe_empty, landing_date, plan_window
from pipelines.batch import (
    COUNTS_FILE,
    BatchRun,
    PreviousState,
    build_batch_pipeline,
    parse_processes,
)
from pipelines.options import SharedViewOptions
from transforms.alerts import ALERT_SCHEMA
from transforms.batches import tables_in_process
from transforms.read import parse_workers_ahead

STEPS = 4
PREVIOUS_TABLES = ("timeline", "identity_map", "identity_edges", "quarantine")
_COUNTS = ("input_count", "accepted_count", "quarantined_count", "duplicate_count")


@dataclass
class RunResult:
    """What a finished run did: ids, counts, checks, where things are."""

    run_id: str
    attempt: str
    status: str
    sources: list[dict[str, Any]]
    customers: int
    stages: dict[str, int]
    funnel: dict[str, int]
    checks: list[CheckResult]
    warehouse: str
    lake: str
    timings: dict[str, float] = field(default_factory=dict)
    manifest: str = ""


def beam_options(beam_args: list[str]) -> PipelineOptions:
    """Beam options from the command line; the embedded default is the local runner."""
    args = with_setup_file(beam_args)
    if not any(a.startswith("--runner") for a in args):
        defaults = {
            "--runner": "DirectRunner",
            "--direct_num_workers": "1",
            "--direct_running_mode": "in_memory",
        }
        # the user's own --direct_* options win (the last occurrence would)
        args += [f"{k}={v}" for k, v in defaults.items() if not any(a.startswith(k) for a in args)]
    return SharedViewOptions(args)


def _beam_failure(exc: BaseException) -> PipelineError:
    text = str(exc).strip().splitlines()
    step = next(
        (m.group(1) for line in text if (m := re.search(r"while running '([^']+)'", line))), None
    )
    last = next((line for line in reversed(text) if line.strip()), type(exc).__name__)
    where = f" in step {step!r}" if step else ""
    return PipelineError(
        f"the Beam pipeline failed{where}: {last[:400]}",
        "re-run with --verbose for the full runner log",
    )


def _runs_here(options: PipelineOptions) -> bool:
    """Whether every step of the pipeline runs in this process: the local runner, unless
    its steps run in worker processes of its own (``multi_processing``)."""
    mode = options.view_as(DirectOptions).direct_running_mode
    return is_local_runner(options.view_as(StandardOptions).runner) and mode != "multi_processing"


def _parse_workers(config: Config, run: BatchRun, options: PipelineOptions) -> int:
    """How many parse processes to start ahead: those of a pipeline run in this process."""
    if not _runs_here(options):
        return 0  # the read step runs in another process (a runner's worker)
    return parse_processes(config, run, options.view_as(StandardOptions).runner)


def run_beam(config: Config, run: BatchRun, beam_args: list[str], progress: Progress) -> None:
    """Build and run the batch pipeline, turning runner errors into a clear PipelineError.

    On the local runner in memory the tables go from step to step by reference."""
    options = beam_options(beam_args)
    in_process = tables_in_process() if _runs_here(options) else nullcontext()
    # The parse workers start first: they import while the pipeline is built and planned.
    with parse_workers_ahead(config, run.run_id, _parse_workers(config, run, options)):
        pipeline = build_batch_pipeline(config, run, options)
        READS.start(progress, len(run.files))
        try:
            with in_process:
                result = pipeline.run()
                state = result.wait_until_finish()
        except Exception as exc:  # a runner failure carries the user's problem in its text
            raise _beam_failure(exc) from None
        finally:
            READS.start(None, 0)
    if str(state) not in ("DONE", "PipelineState.DONE", "RUNNING") and state is not None:
        raise PipelineError(f"the Beam pipeline ended in state {state}")


def _finalise_attempt(attempt: Path) -> dict[str, Any]:
    """Give every table folder a file, and read back the counts the pipeline wrote."""
    for folder, schema in (
        ("timeline/event_date=none", TIMELINE_SCHEMA),
        ("identity_map", IDENTITY_MAP_SCHEMA),
        ("identity_edges", IDENTITY_EDGES_SCHEMA),
        ("identity_conflicts", IDENTITY_CONFLICTS_SCHEMA),
        ("quarantine", QUARANTINE_SCHEMA),
    ):
        base = attempt / folder.split("/")[0]
        if not any(base.rglob("*.parquet")):
            ensure_nonempty(attempt / folder, schema, "part-0.parquet")
    return json.loads((attempt / COUNTS_FILE).read_text(encoding="utf-8"))


def record_merges(
    lake: Lake,
    attempt: str,
    run_id: str,
    merged_at: datetime,
    forgotten: frozenset[str] = frozenset(),
) -> int:
    """identity_merges of this attempt: earlier merges carried over, plus customers of the
    published state that now belong to another customer (the older id survives by minting).
    Merges of ``forgotten`` customers are dropped with them."""
    new_map = f"{lake.table(attempt, 'identity_map')}/*.parquet"
    out = lake.table(attempt, "identity_merges") / "part-0000.parquet"
    current = lake.current()
    con = duckdb.connect()
    try:
        if current is None:
            table = IDENTITY_MERGES_SCHEMA.empty_table()
        else:
            old_map = f"{lake.table(current, 'identity_map')}/*.parquet"
            old_merges = f"{lake.table(current, 'identity_merges')}/*.parquet"
            table = con.sql(
                """
                with detected as (
                    select distinct old.customer_id as merged_customer_id,
                           new.customer_id as into_customer_id
                    from read_parquet(?) as old
                    inner join read_parquet(?) as new
                        using (identifier_type, identifier_value)
                    where old.customer_id <> new.customer_id
                ),
                carried as (
                    select merged_customer_id, into_customer_id, merged_at, run_id
                    from read_parquet(?)
                )
                select * from (
                    select d.merged_customer_id, d.into_customer_id,
                           ?::timestamptz as merged_at, ? as run_id
                    from detected as d
                    anti join carried as c using (merged_customer_id, into_customer_id)
                    union all
                    select * from carried
                )
                where not list_contains(?::varchar[], merged_customer_id)
                    and not list_contains(?::varchar[], into_customer_id)
                order by merged_customer_id, into_customer_id
                """,
                params=[
                    old_map,
                    new_map,
                    old_merges,
                    merged_at,
                    run_id,
                    sorted(forgotten),
                    sorted(forgotten),
                ],
            ).to_arrow_table()
        table = table.cast(IDENTITY_MERGES_SCHEMA)
    finally:
        con.close()
    write_atomic(table, out)
    return table.num_rows


def _dbt_args(config: Config, attempt_path: Path, lake: Lake) -> dict[str, Any]:
    """``run_dbt``'s keyword arguments for a run: every dbt call of a run (and the parse
    ahead of them) gets the same, so dbt's partial-parse state stays valid between them."""
    stream = config.streaming.output
    if "://" not in stream:  # the alerts table exists, empty, before any stream ran
        ensure_nonempty(Path(stream) / "alerts", ALERT_SCHEMA, "_empty.parquet")
    args = dbt_args(config, attempt_path, lake.ops, lake.root / "_dbt")
    if config.warehouse.type == "bigquery":  # BigQuery's profile in place of DuckDB's
        extra_vars, env = bigquery.dbt_settings(config)
        args["vars"].update(extra_vars)
        args["target"] = config.warehouse.type
        args["env"] = {**env, **lake_env(attempt_path, lake.ops, stream)}
    return args


# The run's models (the ops models publish the run log later), then with their data tests.
# Unit tests check the SQL, not the data, and run in CI (tests/models); here they would
# cost seconds on every run.
_RUN_MODELS = ("--exclude", "tag:ops")
_RUN_NODES = (*_RUN_MODELS, "--exclude-resource-type", "unit_test")


def _models_failed(outcome: DbtOutcome) -> PipelineError:
    detail = outcome.exception or "; ".join(
        f"{n.name}: {(n.message or '').strip()[:300]}" for n in outcome.failed_models()
    )
    return PipelineError(f"dbt could not build the models: {detail}")


def build_and_test(dbt: Callable[[list[str]], DbtOutcome]) -> DbtOutcome:
    """Build the run's models and run their data tests; the outcome holds every test.

    One ``dbt build`` runs each test as soon as its models exist, on the thread the
    models leave idle, and saves a second dbt start. But a failing test makes dbt skip
    the models after it, and every mart must still be built (a blocked run's staging is
    what one inspects) and every test reported: then the models are built again and all
    tests run, ``dbt run`` then ``dbt test``, each mart from the same lake attempt.
    """
    built = dbt(["build", *_RUN_NODES])
    if built.exception or built.failed_models():
        raise _models_failed(built)
    if not built.skipped_nodes():
        return built
    rebuilt = dbt(["run", *_RUN_MODELS])
    if not rebuilt.success:
        raise _models_failed(rebuilt)
    tested = dbt(["test", *_RUN_NODES])
    if tested.exception:
        raise PipelineError(f"dbt could not run the tests: {tested.exception}")
    return tested


def dbt_checks(outcome: DbtOutcome, run_id: str, checked_at: datetime) -> list[CheckResult]:
    """dbt data and unit tests as quality results (their severity comes from dbt's config)."""
    results = []
    for node in outcome.nodes:
        if node.resource_type not in ("test", "unit_test"):
            continue
        passed = node.status in ("pass", "success")
        status = "pass" if passed else ("error" if node.status == "error" else "fail")
        results.append(
            CheckResult(
                run_id=run_id,
                check_name=f"dbt:{node.name}",
                target=node.attached_to or "dbt",
                severity="warn" if (node.severity or "error").lower() == "warn" else "error",
                status=status,
                observed_value=float(node.failures) if node.failures is not None else None,
                threshold="= 0",
                details=(node.message or "")[:500],
                samples=(),
                checked_at=checked_at,
            )
        )
    return results


def pipeline_checks(
    counts: dict[str, Any], run_id: str, config: Config, now: datetime
) -> list[CheckResult]:
    """Facts the pipeline itself reports: identity converged, every event found its customer."""
    facts = (
        (
            "identity_converged",
            "identity_map",
            counts["unconverged_nodes"],
            f"nodes not in star shape after {config.identity.max_rounds} rounds; raise "
            "identity.max_rounds",
        ),
        (
            "events_assigned",
            "customer_timeline",
            counts["unassigned_events"],
            "events whose identifiers found no customer",
        ),
    )
    return [
        CheckResult(
            run_id=run_id,
            check_name=name,
            target=target,
            severity="error",
            status="pass" if observed == 0 else "fail",
            observed_value=float(observed),
            threshold="= 0",
            details="" if observed == 0 else text,
            samples=(),
            checked_at=now,
        )
        for name, target, observed, text in facts
    ]


def _source_rows(attempt_path: Path) -> list[dict[str, Any]]:
    con = duckdb.connect()
    try:
        return (
            con.sql(
                "select * from read_parquet(?) order by source",
                params=[f"{attempt_path}/source_stats/*.parquet"],
            )
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.close()


def _stage_summary(config: Config, schema: str) -> tuple[int, dict[str, int], dict[str, int]]:
    con = connect(config.warehouse.path)
    try:
        customers = con.execute(f"select count(*) from {quote(schema)}.customers").fetchone()[0]
        stages = dict(
            con.execute(
                f"select current_stage, count(*) from {quote(schema)}.customers "
                "group by 1 order by 2 desc"
            ).fetchall()
        )
        funnel = dict(
            con.execute(
                "select stage, sum(customers_reached)::bigint "
                f"from {quote(schema)}.fct_journey_funnel where dimension = 'all' group by 1"
            ).fetchall()
        )
    finally:
        con.close()
    ordered = {s: int(funnel.get(s, 0)) for s in config.stages.order}
    return int(customers), {k: int(v) for k, v in stages.items()}, ordered


def plan_run(config: Config, lake: Lake, full_refresh: bool, progress: Progress) -> Plan:
    """The files this run reads and the published state it builds on (no window: every
    file not ingested yet)."""
    files = discover(config)
    published = state.load(lake)
    rules = state.rules_fingerprint(config)
    if published is not None and published.rules != rules and not full_refresh:
        progress.say(
            "the contract, identity, stage or privacy rules changed since the published run: "
            "full refresh"
        )
    if full_refresh or published is None or published.rules != rules:
        return Plan(files, None, "full refresh", "full")
    return Plan(
        published.new_files(files),
        published,
        f"incremental on {published.run_id}",
        published.run_id,
    )


def run_batch(
    config: Config,
    beam_args: list[str],
    progress: Progress,
    full_refresh: bool = False,
    window: Window | None = None,
    plan: Plan | None = None,
) -> RunResult | None:
    """Run the batch job once: incremental over new files, a window (re-)run, a full refresh,
    or a given plan (an erasure).

    Returns None when there is nothing to do (the published state is current, or no file
    lands in the window); a blocked run returns with status 'blocked'; a failure raises
    PipelineError/InputError.
    """
    lake = Lake.at(config.lake)
    config = config.with_suppressions(load_suppressions(lake))
    if plan is None:
        if window is not None:
            plan = plan_window(config, lake, window, full_refresh)
        else:
            plan = plan_run(config, lake, full_refresh, progress)
    files, base = plan.files, plan.base
    landed = window is None or any(window.contains(landing_date(f.path, f.mtime)) for f in files)
    if not landed:
        progress.say(describe_empty(window, config))
        return None
    if base is not None and not files and plan.rebase is None:
        progress.say(f"nothing new to ingest: run {base.run_id} already read every input file")
        return None
    run_id = f"run_{fingerprint(files, config, plan.fingerprint_key)}"
    started = datetime.now(UTC)
    log = RunLog(lake)
    attempt = f"{run_id}.{started:%Y%m%dT%H%M%S%fZ}"
    attempt_path = lake.attempt(attempt)
    record = RunRecord(run_id, started, attempt, attempt=log.previous_attempts(run_id) + 1)
    if window is not None:
        record.window_start, record.window_end = window.bounds()
    dbt_settings = _dbt_args(config, attempt_path, lake)  # an unusable warehouse path: said now
    log.write_run(record)
    mode = plan.mode
    progress.say(f"run {run_id} · {mode} · {len(files)} input files · lake attempt {attempt}")
    previous = state.previous_tables(lake, base.attempt) if base else PreviousState()
    to_workers = worker_paths(config, beam_args)
    previous = PreviousState(
        *(tuple(to_workers(f) for f in getattr(previous, n)) for n in PREVIOUS_TABLES)
    )
    manifest = Manifest.start(record, plan, config)
    on_bigquery = config.warehouse.type == "bigquery"
    # dbt imports and parses its project while Beam runs (on the core it leaves idle); the
    # dbt calls then run in that warm child, and the gates here.
    warehouse = WarehouseWorker(dbt_settings, gates_here=not on_bigquery)
    try:
        with progress.step(f"Beam batch pipeline ({len(files)} files, {mode})"):
            batch = BatchRun(
                run_id, to_workers(str(attempt_path)), tuple(files), previous, plan.rebase
            )
            with progress.phase("beam"):
                run_beam(config, batch, beam_args, progress)
            counts = _finalise_attempt(attempt_path)
            forgotten = plan.rebase.customers if plan.rebase else frozenset()
            record_merges(lake, attempt, run_id, started, forgotten)
            kept = plan.kept_ingested if plan.rebase else (base.ingested if base else ())
            ingested = kept + tuple(
                state.Ingested(f.source, f.path, f.size, f.mtime, run_id) for f in files
            )
            state.save(
                lake,
                attempt,
                state.LakeState(attempt, run_id, state.rules_fingerprint(config), ingested),
            )
        sources = _source_rows(attempt_path)
        record.counts = {c: sum(int(s[c]) for s in sources) for c in _COUNTS}
        log.write("source_runs", run_id, pa.Table.from_pylist(sources))
        if on_bigquery:
            with progress.step(f"load the lake attempt into BigQuery {config.warehouse.project}"):
                bigquery.load_lake(config, attempt_path, lake.ops)

        with (
            progress.step(f"dbt build: models and data tests in {config.warehouse.staging_schema}"),
            progress.phase("dbt"),
        ):
            outcome = build_and_test(warehouse.dbt)

        with progress.step("quality gates"), progress.phase("gates"):
            now = datetime.now(UTC)
            if on_bigquery:
                checks = bigquery.check_staging(config, run_id)
            else:
                checks = warehouse.gates(
                    config.warehouse.path, config.warehouse.staging_schema, run_id, config
                )
            checks = (
                checks
                + dbt_checks(outcome, run_id, now)
                + pipeline_checks(counts, run_id, config, now)
            )
            blocking = [c for c in checks if c.blocks_publish]

        customers, stages, funnel = (
            bigquery.stage_summary(config)
            if on_bigquery
            else _stage_summary(config, config.warehouse.staging_schema)
        )
        record.customers_count = customers
        record.status = "blocked" if blocking else "published"
        record.finished_at = datetime.now(UTC)
        record.message = "; ".join(c.message() for c in blocking)[:2000] or None
        log.write("dq_results", run_id, to_arrow(checks))
        log.write_run(record)

        with (
            progress.step("publish" if not blocking else "publish the run log only (blocked)"),
            progress.phase("publish"),
        ):
            if on_bigquery:
                bigquery.load_ops(config, lake.ops)
            ops = warehouse.dbt(["build", "--select", "tag:ops"])
            warehouse.stop()
            if not ops.success:
                raise PipelineError(
                    f"dbt could not build the run log: {ops.exception or 'see dbt log'}"
                )
            tables = OPS_TABLES if blocking else DATA_TABLES + OPS_TABLES
            if on_bigquery:
                bigquery.publish(config, tables)
            else:
                publish(
                    config.warehouse.path,
                    config.warehouse.staging_schema,
                    config.warehouse.schema,
                    tables,
                )
            if not blocking:
                lake.publish(attempt)
                # An erasure keeps no attempt that still holds the person.
                lake.prune(keep=0 if plan.rebase and plan.rebase.customers else 3)
    except JourneylineError as exc:
        if record.status == "running":
            record.status = "failed"
            record.finished_at = datetime.now(UTC)
            record.message = str(exc)[:2000]
            log.write_run(record)
        manifest.finish(
            lake,
            timings=dict(progress.timings),
            phases=dict(progress.phases),
            error=str(exc),
            exit_code=exc.exit_code,
        )
        raise
    finally:
        warehouse.kill()  # (a no-op after its stop on success)

    path = manifest.finish(
        lake,
        sources=sources,
        checks=checks,
        timings=dict(progress.timings),
        phases=dict(progress.phases),
    )

    return RunResult(
        run_id=run_id,
        attempt=attempt,
        status=record.status,
        sources=sources,
        customers=customers,
        stages=stages,
        funnel=funnel,
        checks=checks,
        warehouse=config.warehouse.path
        if not on_bigquery
        else f"bigquery {config.warehouse.project}.{config.warehouse.schema}",
        lake=str(lake.root),
        timings=dict(progress.timings),
        manifest=str(path),
    )


def blocked_error(result: RunResult) -> GateBlocked:
    """The error a blocked run exits with: every blocking check on its own line."""
    blocking = [c for c in result.checks if c.blocks_publish]
    lines = "\n".join("  " + c.message() for c in blocking)
    return GateBlocked(
        f"run {result.run_id} blocked by {len(blocking)} failing quality check(s); the "
        f"published tables are unchanged:\n{lines}",
        "see dq_results for details and the offending rows, fix the input or the "
        "thresholds in journeyline.yml, then re-run",
    )
