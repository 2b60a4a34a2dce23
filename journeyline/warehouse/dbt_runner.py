"""Run the dbt project in-process and turn what happened into plain data.

``run_dbt`` is the one door to dbt: it invokes ``dbtRunner`` with the project's
profile, the run's vars and its own target/log folders, and returns a
``DbtOutcome``: whether dbt succeeded, one ``NodeResult`` per model / test /
unit test, and a readable message when dbt itself failed. A dbt traceback
never reaches the caller: errors come back as ``success=False``.

    outcome = run_dbt(
        ["build"],
        target="duckdb",
        vars={"lake_run_path": lake.attempt(attempt), "ops_path": lake.ops},
        env={"JOURNEYLINE_DUCKDB_PATH": str(db), "JOURNEYLINE_DBT_SCHEMA": "journeyline_staging"},
        work_dir=work,
    )
    for test in outcome.failed_tests():
        print(test.name, test.severity, test.failures)
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR: Path = Path(__file__).resolve().parents[2]
PROFILES_DIR: Path = PROJECT_DIR / "profiles"

TEST_TYPES = frozenset({"test", "unit_test"})
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})

# dbt keeps process-wide state (flags, adapters, the DuckDB environment):
# one invocation at a time.
_DBT_LOCK = threading.Lock()


@dataclass(frozen=True)
class NodeResult:
    """What happened to one dbt node (model, data test, unit test, hook …)."""

    unique_id: str
    resource_type: str
    name: str
    status: str
    failures: int | None = None
    message: str | None = None
    execution_time: float = 0.0
    severity: str | None = None
    attached_to: str | None = None

    @property
    def is_test(self) -> bool:
        return self.resource_type in TEST_TYPES

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass(frozen=True)
class DbtOutcome:
    """The result of one dbt invocation."""

    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    exception: str | None = None
    command: tuple[str, ...] = ()

    def failed_tests(self) -> list[NodeResult]:
        """Data and unit tests that failed or errored (severity error or not)."""
        return [node for node in self.nodes if node.is_test and node.failed]

    def failed_models(self) -> list[NodeResult]:
        """Models and hooks that failed or errored: what a test's failure cannot explain."""
        return [node for node in self.nodes if not node.is_test and node.failed]

    def warned_tests(self) -> list[NodeResult]:
        """Data tests with severity warn that found rows."""
        return [node for node in self.nodes if node.is_test and node.status == "warn"]

    def failed_nodes(self) -> list[NodeResult]:
        """Every node that failed or errored: models, hooks and tests."""
        return [node for node in self.nodes if node.failed]

    def skipped_nodes(self) -> list[NodeResult]:
        """Nodes dbt did not run because something upstream failed (in `dbt build`
        a failing error-severity test skips the models downstream of it)."""
        return [node for node in self.nodes if node.status == "skipped"]

    def node(self, name: str) -> NodeResult:
        """The result of the node called ``name`` (KeyError when it did not run)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def summary(self) -> str:
        """One line, or one line per problem: fit for a log or an error message."""
        verb = " ".join(self.command[:1]) or "dbt"
        if self.exception:
            return f"dbt {verb} failed: {self.exception}"
        problems = self.failed_nodes()
        if self.success and not problems:
            return f"dbt {verb} succeeded ({len(self.nodes)} nodes)"
        lines = [f"dbt {verb} failed ({len(problems)} of {len(self.nodes)} nodes):"]
        for node in problems:
            detail = node.message or node.status
            lines.append(f"  {node.resource_type} {node.name}: {detail}")
        return "\n".join(lines)


def run_dbt(
    command: Sequence[str],
    *,
    project_dir: Path = PROJECT_DIR,
    profiles_dir: Path = PROFILES_DIR,
    target: str = "duckdb",
    vars: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    work_dir: Path,
) -> DbtOutcome:
    """Run ``dbt <command>`` in-process and report what happened.

    ``command`` is the dbt sub-command and its own options, e.g. ``["build"]``
    or ``["build", "--select", "tag:ops"]``. ``vars`` become ``--vars`` (paths
    may be ``Path``); ``env`` is set for the duration of the call only (the
    profile reads JOURNEYLINE_DUCKDB_PATH, JOURNEYLINE_DBT_SCHEMA, …).
    dbt's target/ and logs/ go under ``work_dir``; nothing is printed.
    """
    command = [str(part) for part in command]
    work_dir = Path(work_dir)
    args = [
        *command,
        "--project-dir",
        str(Path(project_dir).resolve()),
        "--profiles-dir",
        str(Path(profiles_dir).resolve()),
        "--target",
        target,
        "--target-path",
        str((work_dir / "target").resolve()),
        "--log-path",
        str((work_dir / "logs").resolve()),
        "--log-level",
        "none",
        "--log-level-file",
        "debug",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]
    if vars:
        args += ["--vars", json.dumps(dict(vars), default=str)]

    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        with _DBT_LOCK, _environment(env or {}):
            from dbt.cli.main import dbtRunner  # slow import: only when dbt is used

            try:
                result = dbtRunner().invoke(args)
            finally:
                _release_duckdb()
    except (Exception, SystemExit) as exc:  # a dbt crash must not become a traceback
        return DbtOutcome(
            success=False,
            exception=f"{type(exc).__name__}: {_first_lines(str(exc))}",
            command=tuple(command),
        )

    nodes = _node_results(result.result)
    exception = None
    if result.exception is not None:
        exception = _first_lines(str(result.exception)) or type(result.exception).__name__
    return DbtOutcome(
        success=bool(result.success) and exception is None,
        nodes=nodes,
        exception=exception,
        command=tuple(command),
    )


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` in os.environ for the block, then put everything back."""
    saved = {key: os.environ.get(key) for key in env}
    try:
        for key, value in env.items():
            os.environ[key] = str(value)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open between invocations.

    dbt-duckdb holds one process-wide environment (and with it the database
    file and its write lock) after ``invoke`` returns. Closing it lets the
    caller, or another process, open the file right away, read-only or not.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed: nothing to release
        return
    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        with suppress(Exception):  # already closed or half-open: either way it is gone
            environment.close()


def _node_results(result: Any) -> list[NodeResult]:
    """NodeResults of a RunExecutionResult; [] for parse, ls and failed starts."""
    nodes = []
    for run_result in getattr(result, "results", None) or []:
        node = run_result.node
        resource_type = _text(node.resource_type)
        severity = None
        if resource_type == "test":
            severity = str(getattr(node.config, "severity", "error") or "error").lower()
        elif resource_type == "unit_test":
            severity = "error"
        nodes.append(
            NodeResult(
                unique_id=node.unique_id,
                resource_type=resource_type,
                name=node.name,
                status=_text(run_result.status),
                failures=run_result.failures,
                message=run_result.message,
                execution_time=float(run_result.execution_time or 0.0),
                severity=severity,
                attached_to=getattr(node, "attached_node", None),
            )
        )
    return nodes


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _first_lines(text: str, limit: int = 40) -> str:
    """dbt error text without trailing noise, capped so a message stays a message."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return "\n".join(lines[:limit])
