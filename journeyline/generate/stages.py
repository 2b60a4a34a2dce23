"""True lifecycle stages under journeyline's built-in stage rules (SPEC section 5).

The rules are read from the packaged defaults (never from a ``journeyline.yml`` in the
working directory) so the ground truth does not depend on where ``generate`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from journeyline.config import StagesConfig, load_config
from journeyline.generate.events import Event
from journeyline.schema import ANONYMOUS_IDENTIFIER_TYPES


@lru_cache(maxsize=1)
def default_stages() -> StagesConfig:
    """The stage rules of the packaged ``defaults/journeyline.yml``."""
    defaults = resources.files("journeyline").joinpath("defaults", "journeyline.yml")
    with resources.as_file(defaults) as path:
        return load_config(path).stages


@dataclass
class StageHistory:
    """One person's stage (and outcome status) after each event, and when each was entered."""

    after: list[str] = field(default_factory=list)
    outcome_after: list[str | None] = field(default_factory=list)
    entered: dict[str, int] = field(default_factory=dict)
    outcome: str | None = None
    outcome_at: dict[str, int] = field(default_factory=dict)

    @property
    def final(self) -> str | None:
        """The stage after the person's last event."""
        return self.after[-1] if self.after else None


def _known(event: Event) -> bool:
    """True when the event carries a non-anonymous identifier that is not blocked."""
    return any(
        t not in ANONYMOUS_IDENTIFIER_TYPES and t != event.blocked_type for t in event.identifiers
    )


def stage_history(events: list[Event], rules: StagesConfig) -> StageHistory:
    """Walk ``events`` (sorted by occurred_at, event_id) through the rules.

    A stage counts as entered at the first event that moves the person into it; stages
    jumped over (a referral going straight to ``sql``) are never entered.
    """
    rank = {stage: i for i, stage in enumerate(rules.order)}
    history = StageHistory()
    current = -1
    for event in events:
        best = current
        for rule in rules.rules:
            level = rank[rule.stage]
            if level <= current or (rule.after and current < rank[rule.after]):
                continue
            if not rule.any_event and event.event_type not in rule.event_types:
                continue
            if rule.survey_type and event.survey_type != rule.survey_type:
                continue
            if rule.min_score is not None and (event.score is None or event.score < rule.min_score):
                continue
            if rule.max_score is not None and (event.score is None or event.score > rule.max_score):
                continue
            if rule.requires_known_identifier and not _known(event):
                continue
            history.entered.setdefault(rule.stage, event.occurred)
            best = max(best, level)
        current = best
        for outcome in rules.outcomes:
            if event.event_type not in outcome.event_types:
                continue
            if outcome.before and current >= rank[outcome.before]:
                continue
            if outcome.after and current < rank[outcome.after]:
                continue
            history.outcome = outcome.outcome
            history.outcome_at.setdefault(outcome.outcome, event.occurred)
        history.after.append(rules.order[current] if current >= 0 else "")
        history.outcome_after.append(history.outcome)
    return history
