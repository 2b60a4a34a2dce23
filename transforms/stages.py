"""Journey stages (SPEC §5) from rules given as data.

A customer's stage after an event is the highest ordered stage any rule has
matched so far (so skipping a stage still passes it). Outcome statuses (`lost`,
`churned`) sit beside the stages: an outcome rule sets one when its event
arrives within its `before`/`after` bounds, and it is cleared when the customer
later matches a stage rule at least as high as where the outcome was set (a
lost deal re-opened, a churned customer won back).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from journeyline.config import OutcomeRule, StageRule, StagesConfig


@dataclass(frozen=True)
class EventFacts:
    """What the stage rules look at in one event."""

    event_type: str
    survey_type: str | None = None
    score: float | None = None
    has_known_identifier: bool = False


@dataclass(frozen=True)
class StageState:
    """Where a customer stands: highest stage rank reached, and an outcome beside it."""

    rank: int = -1
    outcome: str | None = None
    outcome_floor: int = -1


class StageMachine:
    """Applies the configured stage and outcome rules to a customer's events in order."""

    def __init__(self, config: StagesConfig) -> None:
        self.order = config.order
        self.rank = {stage: i for i, stage in enumerate(config.order)}
        self._any: list[StageRule] = [r for r in config.rules if r.any_event]
        self._by_type: dict[str, list[StageRule]] = defaultdict(list)
        for rule in config.rules:
            for event_type in rule.event_types:
                self._by_type[event_type].append(rule)
        self._outcomes: dict[str, list[OutcomeRule]] = defaultdict(list)
        for outcome in config.outcomes:
            for event_type in outcome.event_types:
                self._outcomes[event_type].append(outcome)

    def _matches(self, rule: StageRule, facts: EventFacts, rank: int) -> bool:
        if rule.requires_known_identifier and not facts.has_known_identifier:
            return False
        if rule.after is not None and rank < self.rank[rule.after]:
            return False
        if rule.survey_type is not None and facts.survey_type != rule.survey_type:
            return False
        if rule.min_score is not None and (facts.score is None or facts.score < rule.min_score):
            return False
        return not (
            rule.max_score is not None and (facts.score is None or facts.score > rule.max_score)
        )

    def step(self, state: StageState, facts: EventFacts) -> StageState:
        """The state after one more event."""
        typed = self._by_type.get(facts.event_type, ())
        matched = [
            self.rank[rule.stage]
            for rule in (*self._any, *typed)
            if self._matches(rule, facts, state.rank)
        ]
        progress = [self.rank[r.stage] for r in typed if self._matches(r, facts, state.rank)]
        rank = max([state.rank, *matched])
        outcome, floor = state.outcome, state.outcome_floor
        if outcome is not None and progress and max(progress) >= floor:
            outcome, floor = None, -1
        for rule in self._outcomes.get(facts.event_type, ()):
            if rule.before is not None and rank >= self.rank[rule.before]:
                continue
            if rule.after is not None and rank < self.rank[rule.after]:
                continue
            outcome = rule.outcome
            floor = self.rank[rule.after] if rule.after is not None else rank
        return StageState(rank, outcome, floor)

    def label(self, state: StageState) -> str:
        """The lifecycle_stage value of a state: its outcome if any, else its stage."""
        if state.outcome is not None:
            return state.outcome
        return self.order[state.rank] if state.rank >= 0 else self.order[0]

    def run(self, events: list[EventFacts]) -> list[tuple[str, bool]]:
        """(lifecycle_stage, stage_changed) after each of one customer's ordered events."""
        state = StageState()
        previous: str | None = None
        out: list[tuple[str, bool]] = []
        for facts in events:
            state = self.step(state, facts)
            label = self.label(state)
            out.append((label, label != previous))
            previous = label
        return out
