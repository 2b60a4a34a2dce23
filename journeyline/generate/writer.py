"""Landing files: ``<stream>/<stream>-YYYY-MM.jsonl``, lines shuffled within each file.

A valid line goes in the file of the month its event was received; noise lines carry
their own target month. The writer reports where every line ended up (file, 1-based line
number) so the ground truth can point at it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from journeyline.generate.clock import month_key
from journeyline.generate.events import Event
from journeyline.generate.noise import NoiseLine
from journeyline.schema import STREAMS


@dataclass(frozen=True)
class Layout:
    """Where each valid event and each noise line was written, and how many lines per file."""

    event_locations: list[tuple[str, int]]
    noise_locations: list[tuple[str, int]]
    file_lines: dict[str, int]

    def files(self, stream: str) -> list[str]:
        """The relative paths of ``stream``'s files, in month order."""
        return [f for f in self.file_lines if f.startswith(f"{stream}/")]


def relative_file(stream: str, month: str) -> str:
    """The landing file of ``stream`` for ``month``, relative to the output folder."""
    return f"{stream}/{stream}-{month}.jsonl"


def clear_landing(out: Path) -> None:
    """Remove landing files an earlier run left behind (only files this layout names)."""
    for stream in STREAMS:
        folder = out / stream
        if folder.is_dir():
            for stale in sorted(folder.glob(f"{stream}-*.jsonl")):
                stale.unlink()


def write_landing(
    out: Path,
    events: list[Event],
    lines: list[bytes],
    noise: list[NoiseLine],
    rng: random.Random,
) -> Layout:
    """Write every valid line and noise line to its file in shuffled order; never blank lines."""
    groups: dict[str, list[tuple[int, int]]] = {}  # file -> [(kind 0=event 1=noise, index)]
    for index, event in enumerate(events):
        groups.setdefault(relative_file(event.stream, month_key(event.received)), []).append(
            (0, index)
        )
    for index, line in enumerate(noise):
        groups.setdefault(relative_file(line.stream, line.month), []).append((1, index))

    event_locations: list[tuple[str, int]] = [("", 0)] * len(events)
    noise_locations: list[tuple[str, int]] = [("", 0)] * len(noise)
    file_lines: dict[str, int] = {}
    clear_landing(out)
    for name in sorted(groups):
        entries = groups[name]
        rng.shuffle(entries)
        texts = []
        for number, (kind, index) in enumerate(entries, start=1):
            if kind == 0:
                texts.append(lines[index])
                event_locations[index] = (name, number)
            else:
                texts.append(noise[index].text)
                noise_locations[index] = (name, number)
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\n".join(texts) + b"\n")
        file_lines[name] = len(entries)
    return Layout(event_locations, noise_locations, file_lines)
