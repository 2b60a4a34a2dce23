"""Source formats in journeyline.yml: mappings, connector tables, Segment options, BigQuery."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeyline.config import ConfigError, load_config

HEAD = "sources:\n  - name: crm\n    stream: sales\n"


def load(tmp_path: Path, text: str):
    path = tmp_path / "journeyline.yml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("    format: mapping\n    location: x\n", 2, "no mapping block"),
        (
            "    format: mapping\n    location: x\n    mapping:\n      events:\n"
            "        - event_type: {value: deal_won}\n",
            7,
            "no event_type or no occurred_at",
        ),
        (
            "    format: mapping\n    location: x\n    mapping:\n      events:\n"
            "        - event_type: {colum: status}\n          occurred_at: {column: t}\n",
            8,
            "unknown key 'colum'",
        ),
        (
            "    format: salesforce\n    location: x\n    tables: {oportunity: a.csv}\n",
            6,
            "did you mean 'opportunity'",
        ),
        ("    format: hubspot\n    location: x\n", 2, "does not say which tables"),
        (
            "    format: zendesk\n    location: bigquery://only-project\n"
            "    tables: {ticket: ticket}\n",
            5,
            "bigquery://PROJECT.DATASET",
        ),
        (
            "    format: canonical\n    location: x\n    mapping:\n"
            "      events: [{event_type: {value: deal_won}, occurred_at: {column: t}}]\n",
            6,
            "only read with format: mapping",
        ),
        (
            "    format: mapping\n    location: x\n    mapping:\n      timezone: Mars/Olympus\n"
            "      events:\n        - {event_type: {value: deal_won}, occurred_at: {column: t}}\n",
            7,
            "not a known time zone",
        ),
    ],
)
def test_source_mistakes_name_the_line_and_the_fix(
    tmp_path: Path, body: str, line: int, words: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, HEAD + body)
    assert error.value.line == line, str(error.value)
    assert words in str(error.value)


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        ("event_type: {value: deal_wonn}", "did you mean 'deal_won'"),
        ("event_type: {column: s, map: {a: levitated}}", "'levitated'"),
        (
            "event_type: {value: deal_won}\n          identifiers: {emial: {column: m}}",
            "'emial'",
        ),
    ],
)
def test_mapped_event_and_identifier_types_must_be_known(
    tmp_path: Path, mapping: str, words: str
) -> None:
    text = (
        HEAD + "    format: mapping\n    location: x\n    mapping:\n      events:\n"
        f"        - occurred_at: {{column: t}}\n          {mapping}\n"
    )
    with pytest.raises(ConfigError) as error:
        load(tmp_path, text)
    assert words in str(error.value)


def test_a_valid_connector_and_mapping_source_load(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        HEAD + "    format: salesforce\n    location: exports\n    tables: {lead: lead*.csv}\n"
        "  - name: web\n    format: segment\n    location: bigquery://p.segment.tracks\n"
        "    segment: {event_map: {Trial Started: form_submitted}}\n",
    )
    crm, web = config.sources
    assert crm.tables == {"lead": "lead*.csv"} and crm.location == str(tmp_path / "exports")
    assert web.location == "bigquery://p.segment.tracks" and web.pattern == "*.json*"
    assert web.segment["event_map"] == {"Trial Started": "form_submitted"}
