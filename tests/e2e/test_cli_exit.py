"""The `journeyline` program ends without the interpreter's teardown, and loses nothing by it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# A stand-in command: prints, registers an exit handler (as Beam, dbt and multiprocessing
# do while a command runs) and keeps an object whose finaliser only the teardown would call.
PROGRAM = textwrap.dedent(
    """
    import atexit, sys
    from journeyline import cli

    class Torn:
        def __del__(self):
            print("torn down", flush=True)

    kept = Torn()

    def command(argv=None):
        atexit.register(print, "handler ran", flush=True)
        print("output " * 2000)  # more than one buffer, not yet flushed to the pipe
        if sys.argv[1] == "usage":
            raise SystemExit(2)  # argparse's own exit
        return int(sys.argv[1])

    cli.main = command
    cli.console_main()
    """
)


def run(tmp_path: Path, arg: str) -> subprocess.CompletedProcess:
    script = tmp_path / "program.py"
    script.write_text(PROGRAM, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script), arg], capture_output=True, text=True, timeout=120
    )


def test_a_finished_command_keeps_its_code_output_and_exit_handlers(tmp_path: Path) -> None:
    for code in (0, 3):
        result = run(tmp_path, str(code))
        assert result.returncode == code
        lines = result.stdout.splitlines()
        assert lines[0].split() == ["output"] * 2000
        assert lines[1:] == ["handler ran"], "handlers run, then the process ends: no teardown"


def test_a_command_that_exits_on_its_own_shuts_down_as_usual(tmp_path: Path) -> None:
    result = run(tmp_path, "usage")
    assert result.returncode == 2
    assert result.stdout.splitlines()[1:] == ["handler ran", "torn down"]
