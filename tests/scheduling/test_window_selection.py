"""What a window selects: landing dates from paths (or modification times), and bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from journeyline.errors import InputError
from journeyline.windows import Window, landing_date, select
from transforms.read import InputFile

MTIME = datetime(2024, 6, 30, 23, 30, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("path", "day"),
    [
        ("gs://b/landing/dt=2025-03-07/part-1.jsonl", date(2025, 3, 7)),
        ("/data/landing/2025/03/07/events.jsonl", date(2025, 3, 7)),
        ("/data/marketing/marketing-2025-03.jsonl", date(2025, 3, 1)),
        ("/data/2024-12/export-20250307.csv", date(2025, 3, 7)),
        ("/data/exports/events.jsonl", date(2024, 6, 30)),
        ("/data/2025-13-40/events.jsonl", date(2024, 6, 30)),
    ],
)
def test_the_landing_date_is_the_deepest_date_in_the_path_else_the_mtime(
    path: str, day: date
) -> None:
    assert landing_date(path, MTIME) == day


def test_a_window_is_half_open_and_selects_files_by_landing_date() -> None:
    window = Window.from_args(start=date(2025, 2, 1), end=date(2025, 3, 1))
    assert window is not None
    files = [InputFile("s", f"/l/s-2025-{m:02d}.jsonl", 1, MTIME, "") for m in (1, 2, 3)]
    assert [f.path for f in select(files, window)] == ["/l/s-2025-02.jsonl"]
    assert window.bounds()[0] == datetime(2025, 2, 1, tzinfo=UTC)
    assert Window.from_args(day=date(2025, 2, 1)) == Window(date(2025, 2, 1), date(2025, 2, 2))
    assert Window.from_args() is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": date(2025, 2, 1)},
        {"start": date(2025, 2, 1), "end": date(2025, 2, 1)},
        {"day": date(2025, 2, 1), "end": date(2025, 3, 1)},
    ],
)
def test_bad_window_arguments_are_input_errors(kwargs: dict) -> None:
    with pytest.raises(InputError):
        Window.from_args(**kwargs)
