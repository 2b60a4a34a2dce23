"""The declarative mapping engine: values, maps, time zones, filters, fan-out, schema drift."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from journeyline.config.mapping import MAPPING
from journeyline.config.validate import parse_yaml
from journeyline.errors import InputError
from tests.transforms.adapters.adapter_helpers import run_file, source_config, with_source
from transforms.adapters import check_columns
from transforms.contract import to_micros
from transforms.records import InputFile

DEALS = """\
mapping:
  timezone: Europe/Berlin
  where: {status: {not_in: [test]}}
  fields:
    stream: {value: sales}
    account_id: {column: firm}
    identifiers:
      email: {column: mail}
      contact_id: {template: "crm:{kunde}"}
  events:
    - name: contacted
      event_type: {value: opportunity_created}
      event_id: {template: "crm-{deal}-created"}
      occurred_at: {column: erstkontakt, format: "%d.%m.%Y %H:%M"}
    - name: closed
      when: {abschluss: {present: true}}
      event_type: {column: status, map: {gewonnen: deal_won, verloren: deal_lost}}
      event_id: {template: "crm-{deal}-{status}"}
      occurred_at: {column: abschluss, format: "%d.%m.%Y %H:%M"}
      amount: {column: wert}
      currency: {value: EUR}
"""
HEADER = "deal,kunde,mail,firm,status,erstkontakt,abschluss,wert,region\n"


def mapping(text: str = DEALS) -> dict:
    return parse_yaml(text, "test.yml", MAPPING.__class__(fields={"mapping": MAPPING}))["mapping"]


def run(tmp_path: Path, body: str, text: str = DEALS, header: str = HEADER):
    path = tmp_path / "deals.csv"
    path.write_text(header + body, encoding="utf-8")
    source = source_config("mapping", tmp_path, mapping=mapping(text), stream="sales")
    return run_file(with_source(source), source, path)


def test_one_row_gives_two_events_with_templates_maps_and_time_zones(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        "7,42,Ana@Example.org,ACME,gewonnen,01.03.2024 09:30,15.04.2024 17:00,1200.5,north\n",
    )
    assert out.rows == 1 and out.counts() == {"opportunity_created": 1, "deal_won": 1}
    created, won = out.accepted
    assert created["event_id"] == "crm-7-created"
    assert created["occurred_at"] == to_micros(datetime.fromisoformat("2024-03-01T08:30:00+00:00"))
    assert created["identifiers"] == [("contact_id", "crm:42"), ("email", "ana@example.org")]
    assert created["account_id"] == "ACME"
    assert won["event_id"] == "crm-7-gewonnen"
    assert won["event_type"] == "deal_won"
    assert won["occurred_at"] == to_micros(datetime.fromisoformat("2024-04-15T15:00:00+00:00"))
    assert str(won["amount"]) == "1200.50" and won["currency"] == "EUR"
    props = orjson.loads(won["properties"])
    assert props == {"region": "north", "mapping_event": "closed"}  # unknown column kept


def test_filters_skip_rows_and_conditions_skip_events(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        "1,1,a@b.org,X,test,01.03.2024 09:30,,,\n"  # where: status test → skipped row
        "2,2,c@d.org,X,offen,01.03.2024 09:30,,,\n",  # no abschluss → only the first event
    )
    assert out.rows == 2 and out.skipped == 1
    assert out.counts() == {"opportunity_created": 1, "skipped_rows": 1}


def test_per_row_problems_are_quarantined_with_reasons(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        "3,3,e@f.org,X,vertagt,2024-03-01,01.05.2024 10:00,abc,\n"  # bad date, unmapped, amount
        "4,4,g@h.org,X\n",  # too few fields
    )
    codes = sorted(code for code, _, _ in out.rejected)
    assert codes == ["invalid_timestamp", "malformed_row", "unmapped_value"]
    reasons = " | ".join(reason for _, reason, _ in out.rejected)
    assert "'vertagt'" in reasons and "%d.%m.%Y %H:%M" in reasons
    assert out.rows == 2 and out.records == 3  # row 3 gave two candidates, row 4 one


def test_extra_columns_are_kept_and_a_missing_required_column_fails_the_source(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deals.csv"
    path.write_text("deal,kunde,mail,firm,status,abschluss,wert\n", encoding="utf-8")
    source = source_config("mapping", tmp_path, mapping=mapping(), stream="sales")
    with pytest.raises(InputError) as error:
        check_columns(with_source(source), source, InputFile("mapping", str(path), 0, 0.0))
    text = str(error.value)
    assert "no column 'erstkontakt'" in text and "events[0].occurred_at" in text
    assert str(path) in text and "optional: true" in text


def test_json_lines_and_parquet_rows_map_like_csv(tmp_path: Path) -> None:
    text = yaml.safe_dump(
        {
            "mapping": {
                "events": [
                    {
                        "event_type": {"value": "page_viewed"},
                        "occurred_at": {"column": "ts", "format": "epoch_ms"},
                        "identifiers": {"anonymous_id": {"column": "visitor.id"}},
                    }
                ]
            }
        }
    )
    rows = [{"ts": 1_700_000_000_000, "visitor": {"id": "v1"}, "extra": [1, 2]}, "not a row"]
    (tmp_path / "a.jsonl").write_text("\n".join(orjson.dumps(r).decode() for r in rows))
    source = source_config("mapping", tmp_path, mapping=mapping(text), stream="marketing")
    out = run_file(with_source(source), source, tmp_path / "a.jsonl")
    assert out.counts() == {"page_viewed": 1, "quarantined:not_an_object": 1}
    assert out.accepted[0]["identifiers"] == [("anonymous_id", "v1")]
    assert orjson.loads(out.accepted[0]["properties"]) == {"extra": [1, 2], "visitor": {"id": "v1"}}
    pq.write_table(pa.Table.from_pylist([rows[0]]), tmp_path / "b.parquet")
    out = run_file(with_source(source), source, tmp_path / "b.parquet")
    assert out.counts() == {"page_viewed": 1}
