"""The state one person's journey is built in: clock window, RNG, identity knowledge, emit().

Every department's phase (marketing, sales, service) writes through ``Journey.emit`` so the
window cut-off, arrival latency, event ids, account fields and story themes are decided in
one place, and identifiers are only marked as linked once a linking event really exists.
"""

from __future__ import annotations

import random
from typing import Any

from journeyline.generate import catalog as cat
from journeyline.generate.clock import DAY, MINUTE, SECOND
from journeyline.generate.events import Event
from journeyline.generate.identifiers import format_email, format_phone
from journeyline.generate.population import Campaign, Person, Population
from journeyline.generate.profiles import Profile


class Journey:
    """Builds the events of one person; anything at or after the window end is dropped."""

    def __init__(
        self,
        person: Person,
        population: Population,
        profile: Profile,
        rng: random.Random,
        window: tuple[int, int],
        event_ids: set[str],
    ) -> None:
        """Start an empty journey; departments get their own default story for drifting people."""
        self.person = person
        self.population = population
        self.profile = profile
        self.rng = rng
        self.start, self.end = window
        self.event_ids = event_ids
        self.events: list[Event] = []
        self.introduced = 0  # devices[:introduced] have been used
        self.linked: list[str] = []  # devices seen on an emitted event with a known identifier
        self.marketing_email: str | None = None  # the address the marketing platform knows
        self.personal_email_linked = False
        others = [t for t in cat.THEMES if t != person.primary_theme]
        self.dept_theme = {
            "marketing": person.primary_theme,
            "sales": rng.choice(cat.THEMES),
            "service": rng.choice(others) if rng.random() < 0.6 else person.primary_theme,
        }

    # --- time -------------------------------------------------------------------------

    def between(self, low: float, high: float, unit: int = DAY) -> int:
        """A uniform random duration in [low, high] ``unit``s, in milliseconds."""
        return int(self.rng.uniform(low, high) * unit)

    def _received(self, occurred: int) -> int:
        """When the event reached journeyline: seconds to minutes later, ~2% days late."""
        rng = self.rng
        if rng.random() < self.profile.late_rate:
            lag = self.between(2, 20)
        elif rng.random() < 0.9:
            lag = self.between(1, 300, SECOND)
        else:
            lag = self.between(5, 45, MINUTE)
        return max(occurred, min(occurred + lag, self.end - 1))

    # --- story ------------------------------------------------------------------------

    def theme(self, department: str) -> str:
        """The story a department tells now: always the same for consistent people."""
        if self.person.consistent_story:
            return self.person.primary_theme
        if self.rng.random() < 0.7:
            return self.dept_theme[department]
        return self.rng.choice(cat.THEMES)

    def campaign(self, channel: str, theme: str) -> Campaign:
        """A campaign on ``channel`` telling ``theme``."""
        return self.rng.choice(self.population.campaigns_by_key[(channel, theme)])

    # --- identifiers as each system writes them ----------------------------------------

    def email(self, address: str) -> str:
        """``address`` as some system stored it (case and padding vary)."""
        return format_email(self.rng, address)

    def phone(self, digits: str) -> str:
        """A phone number as some system stored it (US formats vary)."""
        return format_phone(self.rng, digits)

    def team_inbox(self) -> str | None:
        """Profile ``messy``: the account's shared inbox, if this touchpoint uses it."""
        inbox = self.person.account.support_inbox
        if inbox and self.rng.random() < self.profile.shared_inbox_use_rate:
            return inbox
        return None

    def device(self, linking: bool) -> str | None:
        """The device (anonymous id) of the next web session.

        A linking session (e-mail click-through, form, product login) may introduce a new
        device because the same event also carries a known identifier. An organic session
        carries only the anonymous id, so it reuses a linked device; profile ``messy``
        sometimes opens a new device that nothing ever links.
        """
        devices = self.person.devices
        if linking:
            if self.introduced == 0 or (
                self.introduced < len(devices) and self.rng.random() < self.profile.new_device_rate
            ):
                self.introduced += 1
                return devices[self.introduced - 1]
            return self.rng.choice(devices[: self.introduced])
        if (
            self.introduced < len(devices)
            and self.rng.random() < self.profile.new_device_rate * self.profile.unlinked_device_rate
        ):
            self.introduced += 1
            return devices[self.introduced - 1]
        return self.rng.choice(self.linked) if self.linked else None

    def mark_linked(self, event: Event | None, device: str | None) -> None:
        """Remember ``device`` as linked once ``event`` (carrying it and more) was emitted."""
        if event is not None and device is not None and device not in self.linked:
            self.linked.append(device)

    # --- emission ---------------------------------------------------------------------

    def new_event_id(self) -> str:
        """``evt_`` and 20 hex digits from the person's RNG, unique across the data set."""
        while True:
            event_id = f"evt_{self.rng.getrandbits(80):020x}"
            if event_id not in self.event_ids:
                self.event_ids.add(event_id)
                return event_id

    def emit(
        self,
        at: int,
        stream: str,
        source: str,
        event_type: str,
        identifiers: dict[str, str],
        *,
        channel: str | None = None,
        campaign: Campaign | None = None,
        theme: str | None = None,
        properties: dict[str, Any] | None = None,
        known: bool = True,
        amount_cents: int | None = None,
        score: int | None = None,
        survey_type: str | None = None,
    ) -> Event | None:
        """Record one event at ``at``; None (nothing recorded) outside the window.

        ``known`` says whether the emitting system knows the person's account: anonymous
        web traffic does not, so it carries no account_id, segment or persona.
        """
        if at >= self.end or at < self.start:
            return None
        account = self.person.account
        props: dict[str, Any] = (
            {"segment": account.segment, "persona": self.person.persona} if known else {}
        )
        if properties:
            props.update(properties)
        if campaign is not None:
            theme = campaign.message_theme
        event = Event(
            person_id=self.person.person_id,
            event_id=self.new_event_id(),
            source=source,
            stream=stream,
            event_type=event_type,
            occurred=at,
            received=self._received(at),
            identifiers=identifiers,
            account_id=account.account_id if known else None,
            channel=channel,
            campaign_id=None if campaign is None else campaign.campaign_id,
            message_theme=theme,
            amount_cents=amount_cents,
            currency=account.currency if amount_cents is not None else None,
            score=score,
            survey_type=survey_type,
            properties=props,
        )
        self.events.append(event)
        return event
