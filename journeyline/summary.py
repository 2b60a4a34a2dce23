"""The end-of-run summary: reconciliation per source, customers per stage, checks, locations."""

from __future__ import annotations

from journeyline.run import RunResult


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    out = [line, "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return out


def format_run(result: RunResult) -> str:
    """A plain-text summary a data engineer can read in a scheduler's log."""
    lines = [f"\nrun {result.run_id}: {result.status.upper()}", ""]
    rows = []
    totals = [0, 0, 0, 0, 0, 0]
    for s in result.sources:
        # input counts candidate events: a source row may give several (or, filtered, none).
        counts = [
            s["input_count"],
            s["accepted_count"],
            s["quarantined_count"],
            s["duplicate_count"],
        ]
        extra = [int(s.get("source_rows") or 0), int(s.get("skipped_rows") or 0)]
        totals = [a + b for a, b in zip(totals, counts + extra, strict=True)]
        ok = counts[0] == sum(counts[1:])
        cells = [*(f"{c:,}" for c in extra), *(f"{c:,}" for c in counts)]
        rows.append([s["source"], *cells, "yes" if ok else "NO"])
    ok = totals[0] == sum(totals[1:4])
    cells = [*(f"{c:,}" for c in totals[4:]), *(f"{c:,}" for c in totals[:4])]
    rows.append(["total", *cells, "yes" if ok else "NO"])
    headers = ["source", "rows", "skipped", "input", "accepted", "quarantined", "duplicates"]
    lines += _table([*headers, "reconciles"], rows)
    lines += ["", f"customers: {result.customers:,}"]
    top = max(result.funnel.values(), default=0) or 1
    lines += _table(
        ["stage", "reached", "share", "now in stage"],
        [
            [stage, f"{n:,}", f"{n / top:.1%}", f"{result.stages.get(stage, 0):,}"]
            for stage, n in result.funnel.items()
        ]
        + [
            [o, "", "", f"{result.stages.get(o, 0):,}"]
            for o in ("lost", "churned")
            if o in result.stages
        ],
    )
    failed = [c for c in result.checks if c.status != "pass"]
    lines += [
        "",
        f"quality checks: {len(result.checks) - len(failed)} passed, {len(failed)} not passed",
    ]
    lines += ["  " + c.message() for c in failed]
    lines += [
        "",
        f"warehouse: {result.warehouse}",
        f"lake:      {result.lake}/runs/{result.attempt}",
    ]
    return "\n".join(lines)
