"""Run the quality gates on the staging schema before publishing (SPEC §8, write-audit-publish).

``run_gates`` checks the tables the dbt build wrote to the staging schema and
returns one ``CheckResult`` per enabled check. It never raises for bad data, a
missing table or a broken check: such a check reports status ``error``, which
blocks publishing when its severity is ``error``. The caller decides what to do
with the results (``CheckResult.blocks_publish``).

Great Expectations validates pandas frames, not DuckDB directly: GX's SQL
datasource cannot read DuckDB (it closes the connection before reading, see
PLATFORM.md). DuckDB aggregates each check down to a small frame first.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import pandas as pd

from journeyline.config import CheckConfig, Config
from journeyline.quality.checks import CHECKS, CheckSpec, plural
from journeyline.quality.guards import GUARDS
from journeyline.quality.results import MAX_SAMPLES, SEVERITIES, CheckResult, format_number
from journeyline.quality.suites import (
    SUITES_DIR,
    SuiteError,
    build_suite,
    parameters,
    read_suite,
    threshold_text,
)

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )

log = logging.getLogger(__name__)

# Every gate: output invariants and reconciliation (checks.py), join guards and history (guards.py).
CATALOG: tuple[CheckSpec, ...] = (*CHECKS, *GUARDS)
CATALOG_BY_NAME: dict[str, CheckSpec] = {spec.name: spec for spec in CATALOG}


class ValidationRecorder(Protocol):
    """Where GX validations also go (e.g. a file context for Data Docs, see data_docs.py)."""

    def batch_definition(self) -> BatchDefinition: ...

    def record(
        self, suite: ExpectationSuite, validation: ExpectationSuiteValidationResult, run_name: str
    ) -> None: ...


class CheckError(Exception):
    """The check could not run; the message says why, for people."""


def _gx_loggers() -> list[logging.Logger]:
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "great_expectations"]
    return [logging.getLogger(n) for n in ["great_expectations", *names]]


@contextmanager
def _quiet_gx() -> Iterator[None]:
    """Silence GX's loggers and warnings for the duration of the gates, then restore them.

    GX sets explicit levels on some of its own loggers when imported (e.g. INFO in
    ``data_context.types.base``), so it is imported here before they are lowered.
    """
    saved: dict[logging.Logger, int] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = logging.getLogger("great_expectations")
        saved[root] = root.level
        root.setLevel(logging.CRITICAL)
        try:
            import great_expectations  # noqa: F401  (a failure is reported by each check)
        except Exception:
            log.debug("great_expectations failed to import", exc_info=True)
        for logger in _gx_loggers():
            saved.setdefault(logger, logger.level)
            logger.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            for logger, level in saved.items():
                logger.setLevel(level)


def warm_up() -> None:
    """Import Great Expectations (about 3 s), silenced as the gates silence it: done by the
    run while its warehouse child makes the first dbt call (``journeyline.warehouse.worker``)."""
    with _quiet_gx():
        pass


def _gx_batch_definition() -> BatchDefinition:
    """One ephemeral GX context with one pandas asset that every check reuses."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("journeyline_quality").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _columns_by_table(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, set[str]] | None:
    """Tables and views of ``schema`` with their columns; None if the schema does not exist."""
    exists = con.execute(
        "select count(*) from information_schema.schemata where lower(schema_name) = lower(?)",
        [schema],
    ).fetchone()
    if not exists or not exists[0]:
        return None
    rows = con.execute(
        "select lower(table_name), lower(column_name) from information_schema.columns "
        "where lower(table_schema) = lower(?)",
        [schema],
    ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def _require(spec: CheckSpec, schema: str, tables: dict[str, set[str]] | None) -> None:
    if tables is None:
        raise CheckError(f"schema {schema} does not exist (did the dbt build run?)")
    for table, columns in spec.requires.items():
        if table not in tables:
            raise CheckError(f"table {schema}.{table} does not exist (did the dbt build run?)")
        missing = [c for c in columns if c not in tables[table]]
        if missing:
            raise CheckError(f"table {schema}.{table} lacks column(s) {', '.join(missing)}")


def _jsonable(value: Any) -> Any:
    """A sample value as plain JSON: ISO timestamps, ints/floats, lists, None for NaN/NaT."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _samples(frame: pd.DataFrame) -> tuple[dict[str, Any], ...]:
    head = frame.head(MAX_SAMPLES)
    return tuple({str(k): _jsonable(v) for k, v in row.items()} for row in head.to_dict("records"))


@dataclass(frozen=True)
class _Outcome:
    status: str
    observed: float | None
    details: str
    samples: tuple[dict[str, Any], ...]


def _raised(validation: ExpectationSuiteValidationResult) -> str | None:
    for result in validation.results:
        info = result.exception_info or {}
        if info.get("raised_exception"):
            return str(info.get("exception_message") or "unknown error")
    return None


def _count_outcome(
    spec: CheckSpec,
    frame: pd.DataFrame,
    population: int,
    validation: ExpectationSuiteValidationResult,
) -> _Outcome:
    counts = [
        r.result.get("observed_value")
        for r in validation.results
        if r.expectation_config is not None
        and r.expectation_config.type == "expect_table_row_count_to_be_between"
    ]
    bad = int(counts[0]) if counts and counts[0] is not None else len(frame)
    assert spec.describe is not None
    return _Outcome(
        status="pass" if validation.success else "fail",
        observed=float(bad),
        details=spec.describe(bad, population, frame),
        samples=_samples(frame) if bad else (),
    )


def _unit(key: str) -> str:
    """'source', 'stream', 'customer' from the key column's name."""
    return key.removesuffix("_id").replace("_", " ")


def _rate_outcome(
    spec: CheckSpec,
    cfg: CheckConfig,
    frame: pd.DataFrame,
    validation: ExpectationSuiteValidationResult,
) -> _Outcome:
    column = spec.rate_column
    assert column is not None
    key = spec.rate_key
    judged = frame[frame[column].notna()]
    unjudged = frame[frame[column].isna()]
    note = ""
    if len(unjudged):
        names = ", ".join(str(v) for v in unjudged[key].head(5))
        note = f"; not judged: {names} ({spec.unchecked or 'no value'})"
    rates = judged[column]
    if rates.empty:
        reason = spec.unchecked or f"no {spec.rate_label} to check"
        details = (
            f"{spec.target} has no rows: no {spec.rate_label} to check"
            if frame.empty
            else f"nothing to judge: {reason} ({plural(len(frame), _unit(key))})"
        )
        return _Outcome("pass", None, details, ())
    never = pd.Series(False, index=rates.index)
    too_high = rates > cfg.max if cfg.max is not None else never
    too_low = rates < cfg.min if cfg.min is not None else never
    offending = judged[too_high | too_low]
    # The worst row: above max wins; else below min; else the one nearest the limit.
    if too_high.any() or (cfg.max is not None and not too_low.any()):
        worst = judged.loc[rates.idxmax()]
    else:
        worst = judged.loc[rates.idxmin()]
    observed = float(worst[column])
    threshold = threshold_text(spec, cfg)
    rows = plural(len(judged), f"{_unit(key)} row")
    if validation.success:
        details = (
            f"worst {spec.rate_label} {format_number(observed)} ({worst[key]}) over {rows}{note}"
        )
        return _Outcome("pass", observed, details, ())
    listed = ", ".join(
        f"{row[key]} {format_number(float(row[column]))}" for _, row in offending.head(5).iterrows()
    )
    details = (
        f"{len(offending):,} of {rows} breach the {spec.rate_label} threshold "
        f"({threshold}): {listed}{note}"
    )
    return _Outcome("fail", observed, details, _samples(offending))


class _SuiteCache:
    """Suite files read once per run; a file that fails to load fails only its checks."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._docs: dict[str, dict[str, Any] | SuiteError] = {}

    def get(self, relative: str) -> dict[str, Any]:
        if relative not in self._docs:
            try:
                self._docs[relative] = read_suite(self.root, relative)
            except SuiteError as exc:
                self._docs[relative] = exc
        doc = self._docs[relative]
        if isinstance(doc, SuiteError):
            raise doc
        return doc


@dataclass
class _GateRun:
    """Everything one ``run_gates`` call shares between its checks."""

    con: duckdb.DuckDBPyConnection
    schema: str
    run_id: str
    config: Config
    tables: dict[str, set[str]] | None
    suites: _SuiteCache
    batch_definition: BatchDefinition
    validations_dir: Path | None
    recorder: ValidationRecorder | None = None

    def evaluate(self, spec: CheckSpec, cfg: CheckConfig) -> _Outcome:
        """Run one check; raise CheckError/SuiteError/duckdb.Error when it cannot run."""
        _require(spec, self.schema, self.tables)
        suite = build_suite(self.suites.get(spec.suite), spec, cfg)
        params = parameters(spec, cfg)

        quoted = _quote(self.schema)
        frame = self.con.execute(
            spec.frame_sql.format(schema=quoted), spec.params(self.config, cfg)
        ).df()
        if spec.kind == "rate" and cfg.targets is not None:
            frame = frame[frame[spec.rate_key].isin(cfg.targets)].reset_index(drop=True)
        population = 0
        if spec.population_sql:
            row = self.con.execute(spec.population_sql.format(schema=quoted)).fetchone()
            population = int(row[0]) if row and row[0] is not None else 0

        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        validation = batch.validate(suite, expectation_parameters=params, result_format="SUMMARY")
        if self.validations_dir is not None:
            _save_validation(self.validations_dir, self.run_id, spec.name, validation)
        if self.recorder is not None:
            self.recorder.record(suite, validation, self.run_id)
        raised = _raised(validation)
        if raised:
            raise CheckError(f"Great Expectations could not evaluate the suite: {raised}")
        if spec.kind == "count":
            return _count_outcome(spec, frame, population, validation)
        return _rate_outcome(spec, cfg, frame, validation)


def _save_validation(
    root: Path, run_id: str, check: str, validation: ExpectationSuiteValidationResult
) -> None:
    """Keep GX's own result JSON (for Data Docs or debugging); a failure here is only logged."""
    folder = root / re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{check}.json").write_text(
            json.dumps(validation.to_json_dict(), indent=2, default=str), encoding="utf-8"
        )
    except (OSError, TypeError, ValueError) as exc:
        log.warning("could not write the GX validation result for %s: %s", check, exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def run_gates(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    run_id: str,
    config: Config,
    *,
    suites_dir: str | Path | None = None,
    validations_dir: str | Path | None = None,
    recorder: ValidationRecorder | None = None,
) -> list[CheckResult]:
    """Check the tables in ``schema`` and return one result per enabled check.

    Severity and thresholds come from ``config.check(name)``; a check with
    ``enabled: false`` is skipped. ``suites_dir`` overrides the repository's
    ``expectations/`` folder; ``validations_dir``, when given, receives GX's raw
    validation results as ``<run_id>/<check>.json``; ``recorder``, when given, validates in
    its own GX context and keeps every suite and result (Data Docs). Never raises.
    """
    started = time.perf_counter()
    root = Path(suites_dir) if suites_dir is not None else SUITES_DIR
    out_dir = Path(validations_dir) if validations_dir is not None else None
    results: list[CheckResult] = []

    def record(
        spec_name: str, target: str, cfg: CheckConfig, threshold: str, outcome: _Outcome
    ) -> None:
        severity = cfg.severity
        if severity not in SEVERITIES:  # only a Config built around validation can get here
            severity, outcome = (
                "error",
                _Outcome(
                    "error", None, f"invalid severity {cfg.severity!r} (use error or warn)", ()
                ),
            )
        results.append(
            CheckResult(
                run_id=run_id,
                check_name=spec_name,
                target=target,
                severity=severity,
                status=outcome.status,
                observed_value=outcome.observed,
                threshold=threshold,
                details=outcome.details,
                samples=outcome.samples,
                checked_at=datetime.now(UTC),
            )
        )

    # Configured checks in the order of the configuration, then any check it does not name.
    ordered = [CATALOG_BY_NAME[n] for n in config.quality if n in CATALOG_BY_NAME]
    ordered += [spec for spec in CATALOG if spec.name not in config.quality]
    enabled = [(spec, spec.effective(config, config.check(spec.name))) for spec in ordered]
    enabled = [(spec, cfg) for spec, cfg in enabled if cfg.enabled]

    with _quiet_gx():
        run: _GateRun | None = None
        try:
            tables = _columns_by_table(con, schema)
            run = _GateRun(
                con,
                schema,
                run_id,
                config,
                tables,
                _SuiteCache(root),
                recorder.batch_definition() if recorder else _gx_batch_definition(),
                out_dir,
                recorder,
            )
            setup_error = ""
        except duckdb.Error as exc:
            setup_error = f"cannot read the warehouse catalog: {_first_line(exc)}"
        except Exception as exc:  # GX missing or broken: every check reports it
            setup_error = f"Great Expectations could not start: {_first_line(exc)}"

        for spec, cfg in enabled:
            check_started = time.perf_counter()
            try:
                if run is None:
                    raise CheckError(setup_error)
                outcome = run.evaluate(spec, cfg)
            except (CheckError, SuiteError) as exc:
                outcome = _Outcome("error", None, str(exc), ())
            except duckdb.Error as exc:
                outcome = _Outcome("error", None, f"query failed: {_first_line(exc)}", ())
            except Exception as exc:  # a broken check must report, never crash the run
                log.debug("check %s failed unexpectedly", spec.name, exc_info=True)
                outcome = _Outcome(
                    "error", None, f"check failed: {type(exc).__name__}: {_first_line(exc)}", ()
                )
            log.debug(
                "check %s: %s in %.3fs",
                spec.name,
                outcome.status,
                time.perf_counter() - check_started,
            )
            record(spec.name, spec.target, cfg, threshold_text(spec, cfg), outcome)

    for name, cfg in config.quality.items():
        if name not in CATALOG_BY_NAME and cfg.enabled:
            known = ", ".join(spec.name for spec in CATALOG)
            record(
                name,
                "-",
                cfg,
                "-",
                _Outcome(
                    "error", None, f"unknown check {name!r} in quality.checks (known: {known})", ()
                ),
            )

    log.info("quality gates: %d checks in %.2fs", len(results), time.perf_counter() - started)
    return results
