"""journeyline.yml: defaults load, overrides merge, and every mistake names file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeyline.config import ConfigError, default_config, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "journeyline.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_have_three_sources_and_the_spec_limits() -> None:
    config = default_config()
    assert [s.name for s in config.sources] == ["marketing", "sales", "service"]
    assert config.identity.limits == {"user_id": 1, "email": 5, "phone": 5, "anonymous_id": 200}
    assert config.stages.order == ("visitor", "lead", "mql", "sal", "sql", "customer", "advocate")
    assert config.check("quarantine_rate").severity == "warn"


def test_user_file_merges_over_defaults_and_resolves_paths(tmp_path: Path) -> None:
    path = write(tmp_path, "identity:\n  limits:\n    email: 3\nlake: lake_here\n")
    config = load_config(path)
    assert config.identity.limits["email"] == 3
    assert config.identity.limits["user_id"] == 1
    assert config.lake == str((tmp_path / "lake_here").resolve())


def test_sla_defaults_merge_with_overrides_and_become_the_dbt_var(tmp_path: Path) -> None:
    assert default_config().sla.as_dbt_var() == {
        "speed_to_lead_hours": 24.0,
        "onboarding_start_days": 14.0,
        "first_reply_hours": 24.0,
    }
    config = load_config(write(tmp_path, "sla:\n  first_reply_hours: 8\n"))
    assert config.sla.first_reply_hours == 8.0
    assert config.sla.speed_to_lead_hours == 24.0


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("identity:\n  limits:\n    email: five\n", 3, "must be a whole number"),
        ("identity:\n  limitz: {}\n", 2, "did you mean 'limits'"),
        (
            "sources:\n  - name: web\n    format: canonicl\n    location: x\n",
            3,
            "did you mean 'canonical'",
        ),
        (
            "sources:\n  - name: web\n    format: canonical\n",
            2,
            "missing the required key 'location'",
        ),
        ("contract:\n  future_tolerance_hours: -1\n", 2, "at least 0"),
        (
            "identity:\n  blocked_patterns:\n    email: ['[unclosed']\n",
            3,
            "not a valid regular expression",
        ),
        ("stages:\n  order: [visitor, lead\n", 3, "not valid YAML"),
        ("version: 2\n", 1, "from 1 to 1"),
        ("sla:\n  speed_to_lead_hours: -2\n", 2, "at least 0"),
    ],
)
def test_mistakes_name_file_line_and_fix(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    error = info.value
    assert error.file == str(path)
    assert error.line == line
    assert words in str(error)
    assert "fix:" in str(error) or "did you mean" in str(error) or error.hint == ""


def test_unknown_event_type_in_a_stage_rule_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "stages:\n  rules:\n    - stage: mql\n      event_types: [mql_reachd]\n")
    with pytest.raises(ConfigError, match="mql_reachd"):
        load_config(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yml")
