"""The run's dbt calls in a warm child interpreter, started before Beam.

Importing dbt takes about 2.5 s and parsing the project about 6 s, unless dbt starts from
a saved parse (about 1.5 s): the lake's own, or for a new lake the one cached for the
same project and configuration (``parse_cache``; the lake's folders reach dbt only when
it executes, macros/journey/source.sql, and the child runs dbt from the warehouse's
folder, so that the parse names neither). A child started before
the Beam job does both while Beam runs, at nice 10 so that it only takes CPU the job
leaves idle, and then makes the run's dbt calls on request, with the very function the
run would call itself (``run_dbt``); the run only waits for them then, so the low
priority costs nothing unless other programs compete for the CPU. It is disposable:
when it cannot start, dies or answers with an error, the run makes that call in its own
process, as it would without a child (dbt checks its saved parse state itself).

The quality gates run in the run's own process, and Great Expectations (about 3 s to
import) is imported there while the child makes the first dbt call: the run would
only wait otherwise. The import runs on a thread at the lowest priority (Linux gives each
thread its own), so that it takes only the CPU the child's dbt call leaves: at the run's
own priority it took a core from the child, whose call then took 0.6-0.8 s longer.
(Warmed in the child as well, the import delayed the dbt calls of a short run, whose
Beam job ends before the child's warm-up does.)

A separate interpreter (``python -m journeyline.warehouse.worker``), not a
multiprocessing child: it never re-imports the caller's main module. Requests and
answers are pickles on its stdin and on a copy of its stdout; whatever else the child
prints goes to its stderr, which is discarded.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from journeyline.warehouse import parse_cache
from journeyline.warehouse.dbt_runner import DbtOutcome, run_dbt

if TYPE_CHECKING:  # (imported when the gates run)
    from journeyline.config import Config
    from journeyline.quality import CheckResult

NICE = 10
WARM_NICE = 19  # the gates' import: below the child, which gets the CPU first
_BROKEN = (OSError, EOFError, ValueError, pickle.PickleError, AttributeError, ImportError)


class WarehouseWorker:
    """A warm child for ``run_dbt`` calls with fixed keyword arguments; the gates run here.

    ``gates_here``: whether the run will call ``gates`` (a DuckDB warehouse), so that Great
    Expectations is imported while the child makes the first dbt call.
    """

    def __init__(self, dbt_args: dict[str, Any], gates_here: bool = True) -> None:
        self.dbt_args = dbt_args
        self.gates_cold = gates_here  # Great Expectations still to import
        self.process: subprocess.Popen | None = None
        self.unanswered = 0  # requests sent whose answers are not read yet
        self.warming: threading.Thread | None = None  # the gates' import, once started
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            self._send(("warm", dbt_args))
        except _BROKEN:  # no child: every call is made in this process
            self.stop()

    def dbt(self, command: list[str]) -> DbtOutcome:
        """``run_dbt(command, **dbt_args)``: in the child if it answers, else here."""
        sent = self._request("dbt", command)
        self._warm_gates()  # while the child works
        outcome = self._answer() if sent else None
        return outcome if isinstance(outcome, DbtOutcome) else run_dbt(command, **self.dbt_args)

    def gates(self, database: str, schema: str, run_id: str, config: Config) -> list[CheckResult]:
        """The quality gates on a DuckDB warehouse, in this process."""
        if self.warming is not None:  # (the import silences GX as the gates do: not twice)
            self.warming.join()
        return _gates(database, schema, run_id, config)

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

    def _warm_gates(self) -> None:
        if self.gates_cold:
            self.gates_cold = False
            # Not a daemon: the interpreter waits for an import it would otherwise cut.
            self.warming = threading.Thread(target=_warm_up_below, name="journeyline-warm-gates")
            self.warming.start()

    def _send(self, request: tuple[Any, ...]) -> None:
        assert self.process is not None and self.process.stdin is not None
        pickle.dump(request, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.flush()
        self.unanswered += 1

    def _request(self, *request: Any) -> bool:
        """Send ``request`` to the child: False when there is no child or it is gone."""
        if self.process is None:
            return False
        try:
            self._send(request)
        except _BROKEN:
            self.kill()
            return False
        return True

    def _answer(self) -> Any:
        """The child's answer to the last request; None when it died or the request failed
        there (the caller then makes the call itself)."""
        if self.process is None:
            return None
        try:
            assert self.process.stdout is not None
            while self.unanswered:  # the answers to earlier requests (the warm-up) first
                status, value = pickle.load(self.process.stdout)
                self.unanswered -= 1
        except _BROKEN:
            self.kill()
            return None
        return value if status == "ok" else None


def _warm_up_below() -> None:
    """Import Great Expectations at ``WARM_NICE`` on this thread (Linux; elsewhere at the
    run's priority). A failure is left to the gates, which import it again and report."""
    if sys.platform.startswith("linux"):  # there a thread id names the thread alone
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WARM_NICE)
    with suppress(Exception):
        from journeyline.quality.gates import warm_up

        warm_up()


def _gates(database: str, schema: str, run_id: str, config: Config) -> list[CheckResult]:
    from journeyline.quality import run_gates
    from journeyline.warehouse.publish import connect

    con = connect(database)
    try:
        return run_gates(con, schema, run_id, config)
    finally:
        con.close()


def _from_warehouse_folder(dbt_args: dict[str, Any]) -> dict[str, Any]:
    """Make this child's dbt calls from the DuckDB warehouse's folder, the file named alone,
    so that their saved parse holds for any lake (parse_cache.in_warehouse_folder); the
    arguments as they are when there is no such folder."""
    portable, folder = parse_cache.in_warehouse_folder(dbt_args)
    if folder is None:
        return dbt_args
    try:
        os.chdir(folder)
    except OSError:  # dbt will say what is wrong with the warehouse's path
        return dbt_args
    return portable


def _parse(dbt_args: dict[str, Any]) -> bool:
    """Parse the project into the lake's target folder: a lake without a saved parse starts
    from the one cached for its project and configuration, and a parse dbt had to make is
    cached for the next new lake."""
    parse_cache.seed(dbt_args)
    before = parse_cache.stamp(parse_cache.saved_parse(dbt_args))
    parsed = run_dbt(["parse"], **dbt_args).success
    if parsed and parse_cache.stamp(parse_cache.saved_parse(dbt_args)) != before:
        parse_cache.keep(dbt_args)
    return parsed


def main() -> int:
    """The child: lower its priority, then answer requests until its stdin closes."""
    with suppress(OSError):
        os.nice(NICE)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed to stdout goes where stderr goes
    requests = sys.stdin.buffer
    dbt_args: dict[str, Any] = {}
    while True:
        try:
            kind, *args = pickle.load(requests)
        except EOFError:
            # Nothing more to do, and every answer is written: skip the interpreter's
            # teardown of dbt (over a second the run would wait).
            os._exit(0)
        try:
            if kind == "warm":  # parse the project into its target folder
                dbt_args = _from_warehouse_folder(args[0])
                value: Any = _parse(dbt_args)
            else:
                value = run_dbt(args[0], **dbt_args)
            answer = pickle.dumps(("ok", value), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # the caller makes the call itself
            answer = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
        answers.write(answer)
        answers.flush()


if __name__ == "__main__":
    raise SystemExit(main())
