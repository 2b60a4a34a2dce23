"""The `run` command starts its parse workers' fork server before it imports Beam, when the
run may parse in worker processes, and the parse pool forks its workers from that server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from journeyline.cli import main
from journeyline.config import default_config
from journeyline.config.model import PARALLEL_PARSE_BYTES
from journeyline.parse_server import PRELOAD, local_input_bytes, may_parse_in_workers
from transforms import read


def landing(root: Path, size: int) -> Path:
    """A landing folder whose marketing file has ``size`` bytes (sparse: nothing written)."""
    for source in ("marketing", "sales", "service"):
        (root / source).mkdir(parents=True)
    with open(root / "marketing" / "m.jsonl", "wb") as handle:
        handle.truncate(size)
    return root


def config(root: Path, processes: int = 0):
    base = default_config().with_input(root)
    return replace(base, pipeline=replace(base.pipeline, parse_processes=processes))


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)


def test_the_server_preloads_the_parse_code() -> None:
    assert [read.__name__] == PRELOAD


def at(location: str | Path):
    """The default configuration with one source, at ``location``."""
    base = default_config()
    return replace(base, sources=(replace(base.sources[0], location=str(location)),))


def test_input_bytes_are_counted_up_to_enough(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(b"x" * 10)
    assert local_input_bytes(at(tmp_path)) == 30
    assert local_input_bytes(at(tmp_path), enough=15) == 20  # counting stops there
    assert local_input_bytes(at(tmp_path / "a")) == 10  # a file as the location
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    assert local_input_bytes(at(tmp_path)) == 30  # a file it cannot read counts nothing
    assert local_input_bytes(at("gs://bucket/landing/")) is None
    assert local_input_bytes(at(tmp_path / "missing")) is None


@pytest.mark.usefixtures("two_cores")
@pytest.mark.parametrize(
    ("size", "processes", "beam_args", "expected"),
    [
        (PARALLEL_PARSE_BYTES, 0, [], True),
        (PARALLEL_PARSE_BYTES - 1, 0, [], False),  # one process parses less than that
        (1024, 2, [], True),  # parse_processes set: whatever the size
        (PARALLEL_PARSE_BYTES, 1, [], False),
        (PARALLEL_PARSE_BYTES, 0, ["--runner=DirectRunner"], True),
        (PARALLEL_PARSE_BYTES, 0, ["--runner", "direct"], True),
        (PARALLEL_PARSE_BYTES, 0, ["--runner", "DataflowRunner", "--project=p"], False),
        (PARALLEL_PARSE_BYTES, 0, ["--runner=DataflowRunner", "--runner=DirectRunner"], True),
        (PARALLEL_PARSE_BYTES, 0, ["--direct_running_mode", "multi_processing"], False),
        (PARALLEL_PARSE_BYTES, 0, ["--direct_running_mode=in_memory"], True),
    ],
)
def test_which_runs_may_parse_in_workers(
    tmp_path: Path, size: int, processes: int, beam_args: list[str], expected: bool
) -> None:
    assert may_parse_in_workers(config(landing(tmp_path, size), processes), beam_args) is expected


def test_one_core_parses_in_the_run_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert not may_parse_in_workers(config(landing(tmp_path, PARALLEL_PARSE_BYTES)), [])


# A `run` in a fresh interpreter: when the fork server is started, is Beam imported yet, and
# is the server the parse workers came from the one started then?
EARLY_RUN = """
import json, sys
import multiprocessing.forkserver as forkserver
from journeyline.cli import main

calls = []
real = forkserver.ensure_running

def ensure_running():
    real()
    calls.append({"beam_imported": "apache_beam" in sys.modules,
                  "server": forkserver._forkserver._forkserver_pid})

forkserver.ensure_running = ensure_running
code = main(ARGS)
print(json.dumps({"code": code, "calls": calls,
                  "server_at_end": forkserver._forkserver._forkserver_pid}))
"""


def test_a_run_starts_the_fork_server_before_it_imports_beam(tmp_path: Path) -> None:
    assert main(["generate", "--out", str(tmp_path / "in"), "--people", "40", "--seed", "3"]) == 0
    yml = tmp_path / "journeyline.yml"
    yml.write_text("pipeline:\n  parse_processes: 2\n", encoding="utf-8")
    args = [
        "run",
        *("--config", str(yml), "--input", str(tmp_path / "in")),
        *("--lake", str(tmp_path / "lake"), "--warehouse", str(tmp_path / "wh.duckdb")),
        "--quiet",
    ]
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(EARLY_RUN).replace("ARGS", repr(args))],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["code"] == 0
    (call,) = out["calls"]  # started once, by the `run` command, before Beam was imported
    assert call == {"beam_imported": False, "server": out["server_at_end"]}
    (manifest,) = (tmp_path / "lake" / "_manifests").glob("*.json")
    counts = json.loads(manifest.read_text())["counts"]
    assert counts["input_count"] == (
        counts["accepted_count"] + counts["quarantined_count"] + counts["duplicate_count"]
    )
