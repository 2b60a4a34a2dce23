"""A compact console rendering of the gate results, for the run log and the CLI."""

from __future__ import annotations

from collections.abc import Sequence

from journeyline.quality.results import CheckResult, format_number

_COLUMNS = ("check", "target", "severity", "status", "observed", "threshold")


def summarise(results: Sequence[CheckResult]) -> str:
    """A table of every check, a one-line verdict, then the message of each non-passing check."""
    if not results:
        return "quality gates: no checks ran"
    rows = [
        (
            r.check_name,
            r.target,
            r.severity,
            r.status.upper() if r.status != "pass" else r.status,
            "n/a" if r.observed_value is None else format_number(r.observed_value),
            r.threshold,
        )
        for r in results
    ]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(_COLUMNS)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    blocking = [r for r in results if r.blocks_publish]
    warnings = [r for r in results if not r.passed and not r.blocks_publish]
    passed = sum(r.passed for r in results)
    verdict = (
        f"quality gates (run {results[0].run_id}): {len(results)} checks, {passed} passed, "
        f"{len(blocking)} blocking, {len(warnings)} warning(s) -> "
        + ("publish BLOCKED" if blocking else "OK to publish")
    )
    out = [line(_COLUMNS).rstrip(), line(["-" * w for w in widths]).rstrip()]
    out += [line(row).rstrip() for row in rows]
    out += ["", verdict]
    out += [r.message() for r in (*blocking, *warnings)]
    return "\n".join(out)
