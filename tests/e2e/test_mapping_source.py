"""A CSV with its own column names, two events per row, added by editing journeyline.yml alone,
runs end to end through `journeyline run --config …` and reconciles exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

CONFIG = """\
lake: {lake}
warehouse:
  path: {warehouse}
sources:
  - name: crm_deals
    stream: sales
    format: mapping
    location: {landing}
    pattern: "deals_*.csv"
    mapping:
      file_type: csv
      csv_delimiter: ";"
      timezone: Europe/Berlin
      where: {{status: {{not_in: [test]}}}}
      fields:
        account_id: {{column: firm}}
        identifiers:
          email: {{column: mail}}
          contact_id: {{template: "crm:{{kunde}}"}}
      events:
        - name: first_contact
          event_type: {{value: opportunity_created}}
          event_id: {{template: "crm-{{deal}}-created"}}
          occurred_at: {{column: erstkontakt, format: "%d.%m.%Y %H:%M"}}
        - name: closed
          when: {{abschluss: {{present: true}}}}
          event_type: {{column: status, map: {{gewonnen: deal_won, verloren: deal_lost}}}}
          event_id: {{template: "crm-{{deal}}-{{status}}"}}
          occurred_at: {{column: abschluss, format: "%d.%m.%Y %H:%M"}}
          amount: {{column: wert}}
          currency: {{value: EUR}}
"""
ROWS = """\
deal;kunde;mail;firm;status;erstkontakt;abschluss;wert;region
1;10;ana@example.org;ACME;gewonnen;01.03.2024 09:30;15.04.2024 17:00;1200.50;north
2;11;ben@example.org;Globex;verloren;02.03.2024 10:00;20.03.2024 12:00;800;south
3;12;cem@example.org;Initech;offen;03.03.2024 11:00;;;west
4;13;dana@example.org;ACME;test;04.03.2024 11:00;05.03.2024 11:00;1;east
5;14;eve@example.org;Umbrella;vertagt;05.03.2024 11:00;06.03.2024 11:00;1;east
1;10;ana@example.org;ACME;gewonnen;01.03.2024 09:30;15.04.2024 17:00;1200.50;north
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    # the program's own choice of Arrow's allocator, whatever this process was given
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    return subprocess.run(
        [sys.executable, "-m", "journeyline.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


def write_config(tmp_path: Path, rows: str = ROWS) -> Path:
    landing = tmp_path / "crm"
    landing.mkdir()
    (landing / "deals_2024.csv").write_text(rows, encoding="utf-8")
    config = tmp_path / "journeyline.yml"
    config.write_text(
        CONFIG.format(lake=tmp_path / "lake", warehouse=tmp_path / "wh.duckdb", landing=landing),
        encoding="utf-8",
    )
    return config


def test_a_mapping_only_csv_source_runs_end_to_end(tmp_path: Path) -> None:
    result = cli("run", "--config", str(write_config(tmp_path)), "--quiet")
    assert result.returncode == 0, result.stderr + result.stdout
    (manifest,) = (tmp_path / "lake" / "_manifests").glob("*.json")
    assert json.loads(manifest.read_text())["arrow_memory_pool"] == "system"
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        timeline = con.execute(
            "select event_id, event_type, source, account_id, amount::varchar, "
            "strftime(occurred_at at time zone 'UTC', '%Y-%m-%d %H:%M') "
            "from main.customer_timeline order by event_id"
        ).fetchall()
        stats = con.execute(
            "select source, source_rows, skipped_rows, input_count, accepted_count, "
            "quarantined_count, duplicate_count from main.source_runs"
        ).fetchall()
        quarantine = con.execute("select reason_code, location from main.quarantine").fetchall()
        customers = con.execute(
            "select count(*), count(customer_at) from main.customers"
        ).fetchone()
    finally:
        con.close()
    assert timeline == [
        ("crm-1-created", "opportunity_created", "crm_deals", "ACME", None, "2024-03-01 08:30"),
        ("crm-1-gewonnen", "deal_won", "crm_deals", "ACME", "1200.50", "2024-04-15 15:00"),
        ("crm-2-created", "opportunity_created", "crm_deals", "Globex", None, "2024-03-02 09:00"),
        ("crm-2-verloren", "deal_lost", "crm_deals", "Globex", "800.00", "2024-03-20 11:00"),
        ("crm-3-created", "opportunity_created", "crm_deals", "Initech", None, "2024-03-03 10:00"),
        ("crm-5-created", "opportunity_created", "crm_deals", "Umbrella", None, "2024-03-05 10:00"),
    ]
    # 6 rows: one filtered out (test); 5 rows gave 9 candidate events (rows 1, 2, 5 and the
    # repeated row 1 two each, row 3 one): 6 accepted, 1 quarantined ('vertagt' is not in
    # the map), 2 duplicates (the repeated row) — input = accepted + quarantined + duplicates.
    assert stats == [("crm_deals", 6, 1, 9, 6, 1, 2)]
    assert [(code, loc.rsplit("/", 1)[1]) for code, loc in quarantine] == [
        ("unmapped_value", "deals_2024.csv:6~2")
    ]
    assert customers == (4, 1)


def test_a_csv_without_a_column_the_mapping_needs_fails_before_processing(
    tmp_path: Path,
) -> None:
    rows = ROWS.replace("erstkontakt", "first_contact")
    result = cli("run", "--config", str(write_config(tmp_path, rows)))
    assert result.returncode == 2
    assert "deals_2024.csv has no column 'erstkontakt'" in result.stderr
    assert "events[0].occurred_at" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "wh.duckdb").exists()
