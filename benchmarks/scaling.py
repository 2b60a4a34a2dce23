"""How each measured time grows with the input: fixed seconds plus a cost per event.

The issue's linearity target compares the time *per event* of the smallest and the
largest size, which a fixed cost (starting interpreters, planning the Beam graph, dbt's
Python per node) makes fall with size however linear the work itself is. A
least-squares line ``seconds = fixed + marginal × events`` over the sizes separates
the two, and the marginal cost of each step between sizes (Δseconds / Δevents) shows
whether the work grows linearly. Reported beside the targets, never instead of them.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

TOLERANCE = 0.30  # the issue's ±30%

SERIES: dict[str, Callable[[dict[str, Any]], float]] = {
    "Beam batch job": lambda r: float(r["journeyline"]["phases_s"]["beam"]),
    "dbt build": lambda r: float(r["journeyline"]["phases_s"]["dbt"]),
    "whole run": lambda r: float(r["journeyline"]["whole_s"]),
    "reference": lambda r: float(r["reference"]["seconds"]),
}


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """The least-squares line through ``(events, seconds)``: (fixed s, marginal s/event)."""
    if len({n for n, _ in points}) < 2:
        raise ValueError("a line needs two different sizes")
    count = len(points)
    mean_n = sum(n for n, _ in points) / count
    mean_t = sum(t for _, t in points) / count
    spread = sum((n - mean_n) ** 2 for n, _ in points)
    marginal = sum((n - mean_n) * (t - mean_t) for n, t in points) / spread
    return mean_t - marginal * mean_n, marginal


def scaling(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per series (Beam, dbt, whole run, reference) over the measured sizes: the
    fitted fixed and marginal cost, the marginal cost of each step between sizes, the
    last step's against the first, and time per event at the largest size against the
    smallest (the target's own measure). Empty with fewer than two sizes."""
    ordered = sorted(rows, key=lambda r: r["input_lines"])
    if len({r["input_lines"] for r in ordered}) < 2:
        return []
    out = []
    for name, seconds in SERIES.items():
        points = [(int(r["input_lines"]), seconds(r)) for r in ordered]
        fixed, marginal = fit(points)
        steps = [
            {"from": a, "to": b, "us_per_event": round(1e6 * (tb - ta) / (nb - na), 2)}
            for (a, na, ta), (b, nb, tb) in pairwise(
                (r["size"], n, t) for r, (n, t) in zip(ordered, points, strict=True)
            )
        ]
        step_ratio = (
            round(steps[-1]["us_per_event"] / steps[0]["us_per_event"], 2)
            if len(steps) > 1 and steps[0]["us_per_event"] > 0
            else None
        )
        (n_small, t_small), (n_large, t_large) = points[0], points[-1]
        out.append(
            {
                "series": name,
                "fixed_s": round(fixed, 2),
                "marginal_us_per_event": round(1e6 * marginal, 2),
                "steps": steps,
                "last_step_over_first": step_ratio,
                "steps_linear": None if step_ratio is None else abs(step_ratio - 1) <= TOLERANCE,
                "per_event_largest_over_smallest": round(
                    (t_large / n_large) / (t_small / n_small), 2
                ),
            }
        )
    return out


def format_scaling(entries: list[dict[str, Any]]) -> list[str]:
    """The scaling entries as Markdown table lines (none when there are none)."""
    if not entries:
        return []
    steps = " | ".join(f"{s['from']}→{s['to']} µs/event" for s in entries[0]["steps"])
    head = f"| series | fixed s | marginal µs/event (fit) | {steps} | last step / first "
    head += "| time per event, largest / smallest |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for e in entries:
        ratio = e["last_step_over_first"]
        shown = (
            "–"
            if ratio is None
            else f"{ratio:.2f}× (" + ("within ±30%" if e["steps_linear"] else "outside ±30%") + ")"
        )
        cells = " | ".join(f"{s['us_per_event']:.1f}" for s in e["steps"])
        lines.append(
            f"| {e['series']} | {e['fixed_s']:.1f} | {e['marginal_us_per_event']:.1f} | "
            f"{cells} | {shown} | {e['per_event_largest_over_smallest']:.2f}× |"
        )
    return lines
