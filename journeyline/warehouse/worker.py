"""The run's dbt calls and quality gates in a warm child interpreter, started before Beam.

Importing dbt takes about 2.5 s, Great Expectations about 3 s, and a run's first dbt
call parses the project (3 to 4.5 s). A child started before the Beam job does all
three while Beam runs, at nice 10 so that it only takes CPU the job leaves idle, and
then makes the run's dbt calls and runs its gates on request, with the very functions
the run would call itself (``run_dbt``, ``run_gates``); the run only waits for them
then, so the low priority costs nothing unless other programs compete for the CPU.
It is disposable: when it cannot start, dies or answers with an error, the run makes
that call in its own process, as it would without a child (dbt checks its saved
parse state itself).

A separate interpreter (``python -m journeyline.warehouse.worker``), not a
multiprocessing child: it never re-imports the caller's main module. Requests and
answers are pickles on its stdin and on a copy of its stdout; whatever else the child
prints goes to its stderr, which is discarded. What journeyline's own loggers say in
the child (a gate that could not keep its result, ``--verbose`` timings) comes back
with each answer and is logged by the run as if it had been said there.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from journeyline.warehouse.dbt_runner import DbtOutcome, run_dbt

if TYPE_CHECKING:  # (the child imports them when it runs the gates)
    from journeyline.config import Config
    from journeyline.quality import CheckResult

NICE = 10
_BROKEN = (OSError, EOFError, ValueError, pickle.PickleError, AttributeError, ImportError)


class WarehouseWorker:
    """A warm child for ``run_dbt`` calls with fixed keyword arguments, and for the gates."""

    def __init__(self, dbt_args: dict[str, Any]) -> None:
        self.dbt_args = dbt_args
        self.process: subprocess.Popen | None = None
        self.unanswered = 0  # requests sent whose answers are not read yet
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            level = logging.getLogger("journeyline").getEffectiveLevel()
            self._send(("warm", dbt_args, level))
        except _BROKEN:  # no child: every call is made in this process
            self.stop()

    def dbt(self, command: list[str]) -> DbtOutcome:
        """``run_dbt(command, **dbt_args)``: in the child if it answers, else here."""
        outcome = self._call("dbt", command)
        return outcome if isinstance(outcome, DbtOutcome) else run_dbt(command, **self.dbt_args)

    def gates(self, database: str, schema: str, run_id: str, config: Config) -> list[CheckResult]:
        """The quality gates on a DuckDB warehouse: in the child if it answers, else here."""
        results = self._call("gates", database, schema, run_id, config)
        return results if isinstance(results, list) else _gates(database, schema, run_id, config)

    def stop(self) -> None:
        """End the child: it exits as soon as it reads that nothing more will come (killed
        if it has not within 5 s, which only a child still at work would take)."""
        process, self.process = self.process, None
        if process is None:
            return
        with suppress(OSError, ValueError):
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Stop the child now, whatever it is doing."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        self.stop()

    def _send(self, request: tuple[Any, ...]) -> None:
        assert self.process is not None and self.process.stdin is not None
        pickle.dump(request, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.flush()
        self.unanswered += 1

    def _call(self, *request: Any) -> Any:
        """The child's answer to ``request``; None when there is no child, it died or the
        request failed there (the caller then makes the call itself)."""
        if self.process is None:
            return None
        try:
            self._send(request)
            assert self.process.stdout is not None
            while self.unanswered:  # the answers to earlier requests (the warm-up) first
                status, value, records = pickle.load(self.process.stdout)
                self.unanswered -= 1
                for record in records:
                    logging.getLogger(record.name).handle(record)
        except _BROKEN:
            self.kill()
            return None
        return value if status == "ok" else None


class _Kept(logging.Handler):
    """The child's log records since its last answer, made picklable (text only)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        record.msg, record.args, record.exc_info, record.exc_text = text, None, None, None
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        records, self.records = self.records, []
        return records


def _gates(database: str, schema: str, run_id: str, config: Config) -> list[CheckResult]:
    from journeyline.quality import run_gates
    from journeyline.warehouse.publish import connect

    con = connect(database)
    try:
        return run_gates(con, schema, run_id, config)
    finally:
        con.close()


def _warm(dbt_args: dict[str, Any]) -> bool:
    """Parse the dbt project into its target folder and import Great Expectations."""
    parsed = run_dbt(["parse"], **dbt_args).success
    from journeyline.quality.gates import warm_up

    warm_up()
    return parsed


def main() -> int:
    """The child: lower its priority, then answer requests until its stdin closes."""
    with suppress(OSError):
        os.nice(NICE)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed to stdout goes where stderr goes
    requests = sys.stdin.buffer
    kept = _Kept()
    logger = logging.getLogger("journeyline")
    logger.addHandler(kept)
    logger.propagate = False
    dbt_args: dict[str, Any] = {}
    while True:
        try:
            kind, *args = pickle.load(requests)
        except EOFError:
            # Nothing more to do, and every answer is written: skip the interpreter's
            # teardown of dbt and Great Expectations (over a second the run would wait).
            os._exit(0)
        try:
            if kind == "warm":
                dbt_args, level = args
                logger.setLevel(level)
                value: Any = _warm(dbt_args)
            elif kind == "dbt":
                value = run_dbt(args[0], **dbt_args)
            else:
                value = _gates(*args)
            answer = pickle.dumps(("ok", value, kept.take()), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # the caller makes the call itself
            answer = pickle.dumps(("error", f"{type(exc).__name__}: {exc}", kept.take()))
        answers.write(answer)
        answers.flush()


if __name__ == "__main__":
    raise SystemExit(main())
