"""The BigQuery emulator, installed into its own venv and started once per test session.

The fixture builds ``.venv-bqemulator`` from the pinned requirements beside this file
(about a minute, once per machine), starts the emulator on free ports and stops it at
the end of the session. If it cannot install or start, the tests that need it are
skipped with a loud message on the terminal, never passed silently.
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV = ROOT / ".venv-bqemulator"
REQUIREMENTS = HERE / "bqemulator-requirements.txt"
PROJECT = "journeyline-test"


def _loud_skip(reason: str) -> None:
    banner = "\n" + "!" * 78 + f"\nBIGQUERY EMULATOR UNAVAILABLE: {reason}\n" + "!" * 78 + "\n"
    sys.stderr.write(banner)
    pytest.skip(f"BigQuery emulator unavailable: {reason}")


def _install() -> Path:
    """The emulator venv's python, installing it when missing or out of date. Test workers
    running in parallel (``make test``) take turns: the first installs, the others find it."""
    with open(ROOT / ".venv-bqemulator.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install_unlocked()


def _install_unlocked() -> Path:
    python = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    wanted = REQUIREMENTS.read_text(encoding="utf-8")
    if python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return python
    base = os.environ.get("PYTHON_FOR_EMULATOR", sys.executable)
    steps = [
        [base, "-m", "venv", "--clear", str(VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            _loud_skip(f"`{' '.join(step[:4])} …` failed: {' | '.join(tail)}")
    stamp.write_text(wanted, encoding="utf-8")
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def bq_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The REST endpoint of a running BigQuery emulator (http://127.0.0.1:PORT)."""
    python = _install()
    rest, grpc = _free_port(), _free_port()
    log = tmp_path_factory.mktemp("bqemulator") / "emulator.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(python),
                str(HERE / "bqemulator_serve.py"),
                "--rest-port",
                str(rest),
                "--grpc-port",
                str(grpc),
                "--project",
                PROJECT,
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{rest}"
    probe = f"{endpoint}/bigquery/v2/projects/{PROJECT}/datasets"
    deadline = time.monotonic() + 120
    while not _ready(probe):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            _loud_skip(f"the emulator did not start: {' | '.join(tail)}")
        time.sleep(0.5)
    try:
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
