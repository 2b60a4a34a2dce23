"""Generation profiles: the knobs that separate clean ``default`` data from ``messy`` data.

A profile is data, not code, so the journeys read the same for both and only the rates of
fragmentation, sharing and noise differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Rates that shape identity fragmentation and noise; all probabilities are in [0, 1]."""

    name: str
    # Identity shape.
    personal_email_rate: float
    phone_rate: float
    max_devices: int
    new_device_rate: float
    # Profile "messy" only: identifiers that never co-occur with the rest of a person.
    unlinked_device_rate: float = 0.0
    visitor_second_device_rate: float = 0.0
    isolated_personal_email_rate: float = 0.0
    second_requester_rate: float = 0.0
    typo_rate: float = 0.0
    shared_inbox_account_rate: float = 0.0
    shared_inbox_use_rate: float = 0.0
    switchboard_account_rate: float = 0.0
    switchboard_call_rate: float = 0.0
    # Noise, relative to the number of valid events.
    blocked_extra_rate: float = 0.02
    duplicate_rate: float = 0.01
    malformed_rate: float = 0.005
    late_rate: float = 0.02

    @property
    def perfectly_resolvable(self) -> bool:
        """True when each person's identifiers must form one graph shared with nobody."""
        return not any(
            (
                self.unlinked_device_rate,
                self.visitor_second_device_rate,
                self.isolated_personal_email_rate,
                self.second_requester_rate,
                self.typo_rate,
                self.shared_inbox_account_rate,
                self.switchboard_account_rate,
            )
        )


DEFAULT = Profile(
    name="default",
    personal_email_rate=0.30,
    phone_rate=0.55,
    max_devices=3,
    new_device_rate=0.15,
)

MESSY = Profile(
    name="messy",
    personal_email_rate=0.50,
    phone_rate=0.65,
    max_devices=5,
    new_device_rate=0.30,
    unlinked_device_rate=0.40,
    visitor_second_device_rate=0.25,
    isolated_personal_email_rate=0.30,
    second_requester_rate=0.25,
    typo_rate=0.04,
    shared_inbox_account_rate=0.40,
    shared_inbox_use_rate=0.35,
    switchboard_account_rate=0.30,
    switchboard_call_rate=0.40,
    blocked_extra_rate=0.06,
    duplicate_rate=0.015,
    malformed_rate=0.008,
    late_rate=0.03,
)

_BY_NAME: dict[str, Profile] = {p.name: p for p in (DEFAULT, MESSY)}
PROFILES: tuple[str, ...] = tuple(_BY_NAME)


def get_profile(name: str) -> Profile:
    """The profile called ``name``; a ValueError lists the valid names otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}: choose one of {', '.join(PROFILES)}") from None
