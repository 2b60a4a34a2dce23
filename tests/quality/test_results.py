"""CheckResult, the dq_results Arrow rows and the console summary (no warehouse needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from journeyline.quality import DQ_RESULTS_SCHEMA, CheckResult, summarise, to_arrow

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def result(**changes: object) -> CheckResult:
    fields: dict[str, object] = {
        "run_id": "run-7",
        "check_name": "contiguous_event_seq",
        "target": "customer_timeline",
        "severity": "error",
        "status": "fail",
        "observed_value": 3.0,
        "threshold": "= 0",
        "details": "3 customers with gaps in event_seq",
        "samples": ({"customer_id": "c-1", "max_seq": 7},),
        "checked_at": AT,
    }
    fields.update(changes)
    return CheckResult(**fields)  # type: ignore[arg-type]


def test_message_names_check_target_observed_threshold_and_severity():
    assert result().message() == (
        "✗ contiguous_event_seq on customer_timeline: 3 customers with gaps in event_seq "
        "(observed 3, threshold = 0) [error]"
    )
    assert result(status="pass", observed_value=0.0, details="ok").message().startswith("✓ ")
    errored = result(status="error", observed_value=None, details="table missing")
    assert errored.message() == (
        "⚠ contiguous_event_seq on customer_timeline: table missing "
        "(observed n/a, threshold = 0) [error]"
    )
    rate = result(severity="warn", observed_value=0.123456, threshold="<= 0.05")
    assert rate.message().endswith("(observed 0.1235, threshold <= 0.05) [warn]")


@pytest.mark.parametrize(
    ("severity", "status", "blocks"),
    [
        ("error", "fail", True),
        ("error", "error", True),
        ("error", "pass", False),
        ("warn", "fail", False),
        ("warn", "error", False),
        ("warn", "pass", False),
    ],
)
def test_only_error_severity_that_did_not_pass_blocks_publish(severity, status, blocks):
    assert result(severity=severity, status=status).blocks_publish is blocks


def test_invalid_values_are_refused():
    with pytest.raises(ValueError, match="severity"):
        result(severity="critical")
    with pytest.raises(ValueError, match="status"):
        result(status="failed")
    with pytest.raises(ValueError, match="timezone"):
        result(checked_at=datetime(2024, 5, 1))


def test_to_arrow_gives_dq_results_rows():
    table = to_arrow(
        [
            result(),
            result(
                check_name="quarantine_rate",
                severity="warn",
                status="pass",
                observed_value=None,
                threshold="<= 0.05",
            ),
        ]
    )

    assert table.schema == DQ_RESULTS_SCHEMA
    assert table.schema.field("observed_value").type == pa.float64()
    assert table.schema.field("checked_at").type == pa.timestamp("us", tz="UTC")
    assert table.column_names == [
        "run_id",
        "check_name",
        "target",
        "severity",
        "status",
        "observed_value",
        "threshold",
        "details",
        "samples",
        "checked_at",
    ]
    row = table.to_pylist()[0]
    assert json.loads(row.pop("samples")) == list(result().samples)
    assert row == {
        "run_id": "run-7",
        "check_name": "contiguous_event_seq",
        "target": "customer_timeline",
        "severity": "error",
        "status": "fail",
        "observed_value": 3.0,
        "threshold": "= 0",
        "details": "3 customers with gaps in event_seq",
        "checked_at": AT,
    }
    assert table.column("observed_value").to_pylist() == [3.0, None]
    assert to_arrow([]).num_rows == 0


def test_summarise_lists_every_check_and_the_messages_of_failures():
    passed = result(
        check_name="unique_event_id",
        status="pass",
        observed_value=0.0,
        details="every event_id is unique",
    )
    warned = result(
        check_name="quarantine_rate",
        target="stg_lake__source_stats",
        severity="warn",
        observed_value=0.2,
        threshold="<= 0.05",
        details="1 of 3 source rows breach the quarantine rate threshold",
    )

    text = summarise([passed, result(), warned])

    lines = text.splitlines()
    assert lines[0].split() == ["check", "target", "severity", "status", "observed", "threshold"]
    assert lines[2].split() == [
        "unique_event_id",
        "customer_timeline",
        "error",
        "pass",
        "0",
        "=",
        "0",
    ]
    assert lines[3].split()[:5] == [
        "contiguous_event_seq",
        "customer_timeline",
        "error",
        "FAIL",
        "3",
    ]
    assert (
        "quality gates (run run-7): 3 checks, 1 passed, 1 blocking, 1 warning(s) -> publish BLOCKED"
    ) in lines
    assert lines[-2] == result().message()
    assert lines[-1] == warned.message()
    assert "unique_event_id on" not in text  # passing checks get no message line


def test_summarise_without_results():
    assert summarise([]) == "quality gates: no checks ran"
