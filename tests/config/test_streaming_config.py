"""The streaming: and alerts: blocks: defaults, overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeyline.config import ConfigError, default_config, load_config
from tests.config.test_config import write


def test_defaults_watch_the_landing_folders_with_the_spec_thresholds() -> None:
    config = default_config()
    assert config.streaming.input == "folder"
    assert config.streaming.output == f"{config.lake}/stream"
    assert config.streaming.window_us == 3_600_000_000
    assert config.alerts.lead_followup_breach.sla_hours == 24
    assert config.alerts.detractor.escalate_after_hours == 48
    assert config.alerts.post_purchase_friction.within_days == 14
    assert (config.alerts.repeat_contact.tickets, config.alerts.repeat_contact.within_days) == (
        3,
        7,
    )


def test_pubsub_sources_and_thresholds_merge_over_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "lake: here\nstreaming:\n  input: pubsub\n  pubsub:\n    subscriptions:\n"
        "      sales: projects/acme-prod/subscriptions/sales-events\n"
        "alerts:\n  lead_followup_breach:\n    sla_hours: 4\n",
    )
    config = load_config(path)
    assert config.streaming.pubsub_subscriptions == {
        "sales": "projects/acme-prod/subscriptions/sales-events"
    }
    assert config.streaming.pubsub_timestamp_attribute == "occurred_at"
    assert config.streaming.output == str((tmp_path / "here").resolve()) + "/stream"
    assert config.alerts.lead_followup_breach.sla_hours == 4
    assert config.alerts.lead_followup_breach.touch_event_types == {
        "sales_contacted",
        "meeting_held",
    }
    assert config.with_paths(lake=str(tmp_path / "other")).streaming.output.endswith("other/stream")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("streaming:\n  input: pubsub\n", "'streaming.pubsub.subscriptions' is empty"),
        (
            "streaming:\n  pubsub:\n    subscriptions:\n"
            "      web: projects/acme-prod/subscriptions/web-events\n",
            "'web', which is not a configured source",
        ),
        ("streaming:\n  pubsub:\n    subscriptions:\n      sales: sales-sub\n", "not valid here"),
        ("streaming:\n  input: kafka\n  kafka:\n    topics: {sales: s}\n", "bootstrap_servers"),
        ("streaming:\n  window_minutes: 0\n", "journeyline.yml:2: 'streaming.window_minutes' is 0"),
        (
            "alerts:\n  detractor:\n    touch_event_types: [ticket_replyed]\n",
            "'ticket_replyed', which no stream knows",
        ),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert words in str(error.value)
