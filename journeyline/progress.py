"""Console progress: numbered steps with timings, and a live counter for long reads.

Progress goes to stderr so stdout stays clean for the run summary. The file
counter is updated from inside the local runner's DoFns (same process); on a
remote runner it is simply never shown.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Prints ``[i/n] step … ✓ 1.2 s`` lines and an in-place counter on a terminal."""

    def __init__(self, total_steps: int, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.total = total_steps
        self.index = 0
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self._lock = threading.Lock()
        self._last = 0.0
        self.timings: dict[str, float] = {}
        self.phases: dict[str, float] = {}

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """Announce a step, time it, and report how it ended."""
        self.index += 1
        self.say(f"[{self.index}/{self.total}] {title} …")
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            self._clear()
            self.say(f"      ✗ {title} failed after {time.perf_counter() - start:.1f} s")
            raise
        elapsed = time.perf_counter() - start
        self.timings[title] = elapsed
        self._clear()
        self.say(f"      ✓ {title} ({elapsed:.1f} s)")

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a named phase silently (beam, dbt, gates, publish), for the run manifest.

        Unlike step titles, phase names are stable, so benchmarks and schedulers can read them.
        """
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start

    def counter(self, text: str) -> None:
        """A live counter line: rewritten in place on a terminal, every 5 s otherwise."""
        if self.quiet:
            return
        with self._lock:
            now = time.monotonic()
            if self.tty:
                print(f"\r      {text}\x1b[K", end="", file=self.stream, flush=True)
            elif now - self._last >= 5:
                print(f"      {text}", file=self.stream, flush=True)
            self._last = now

    def _clear(self) -> None:
        if self.tty and not self.quiet:
            print("\r\x1b[K", end="", file=self.stream, flush=True)


class _Reads:
    """Files and records read so far, shared by the local runner's DoFns."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files = 0
        self.records = 0
        self.total_files = 0
        self.progress: Progress | None = None

    def start(self, progress: Progress | None, total_files: int) -> None:
        with self.lock:
            self.progress, self.total_files, self.files, self.records = progress, total_files, 0, 0

    def file_done(self, records: int, files: int = 1) -> None:
        """``records`` more read, and ``files`` more files done (0 for a part of a file that
        is not its last)."""
        with self.lock:
            self.files += files
            self.records += records
            progress, files, total, count = (
                self.progress,
                self.files,
                self.total_files,
                self.records,
            )
        if progress is not None:
            progress.counter(f"read {files}/{total} files · {count:,} records")


READS = _Reads()
