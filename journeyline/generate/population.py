"""Accounts, people and campaigns: who exists in the synthetic world before anything happens.

Accounts carry the B2B attributes (segment, industry, country); people belong to one
account, have a persona and own every identifier value they will ever use, minted up
front so the journeys only decide *when* a value shows up, never *what* it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from journeyline.generate import catalog as cat
from journeyline.generate.identifiers import Minter, phone_e164
from journeyline.generate.profiles import Profile


@dataclass(frozen=True)
class Campaign:
    """A marketing campaign: one channel telling one story."""

    campaign_id: str
    name: str
    channel: str
    message_theme: str


@dataclass
class Account:
    """A B2B company; colleagues share its ``account_id`` and e-mail domain."""

    account_id: str
    name: str
    domain: str
    segment: str
    industry: str
    country: str
    region: str
    currency: str
    employees: int
    email_pattern: str
    support_inbox: str | None = None
    support_requester_id: str | None = None
    switchboard: str | None = None

    @property
    def marketing_platform(self) -> str:
        """hubspot or marketo: the marketing automation system of the account's region."""
        return cat.MARKETING_PLATFORM[self.region]


@dataclass
class Person:
    """One human: account, persona, story, and every identifier value they own."""

    person_id: str
    index: int
    account: Account
    first: str
    last: str
    persona: str
    title: str
    path: str
    primary_theme: str
    consistent_story: bool
    work_email: str
    devices: tuple[str, ...]
    lead_id: str
    contact_id: str
    user_id: str
    requester_id: str
    personal_email: str | None = None
    phone: str | None = None
    second_requester_id: str | None = None

    @property
    def phone_e164(self) -> str | None:
        """The phone number in E.164, if the person has one."""
        return None if self.phone is None else phone_e164(self.phone)


@dataclass
class Population:
    """Everything that exists before the journeys run, plus the role of each identifier."""

    accounts: list[Account]
    people: list[Person]
    campaigns: list[Campaign]
    minter: Minter
    # (identifier type, normalised value) -> role, e.g. ("email", "a@b.com") -> "work_email".
    roles: dict[tuple[str, str], str] = field(default_factory=dict)
    campaigns_by_key: dict[tuple[str, str], tuple[Campaign, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Index campaigns by (channel, theme) so journeys can pick by story."""
        grouped: dict[tuple[str, str], list[Campaign]] = {}
        for campaign in self.campaigns:
            grouped.setdefault((campaign.channel, campaign.message_theme), []).append(campaign)
        self.campaigns_by_key = {key: tuple(value) for key, value in grouped.items()}


def build_campaigns() -> list[Campaign]:
    """Two campaigns for every (campaign channel, theme) pair; ids are readable and stable."""
    campaigns = []
    for channel in cat.CAMPAIGN_CHANNELS:
        for theme in cat.THEMES:
            for wave in (1, 2):
                campaigns.append(
                    Campaign(
                        campaign_id=f"cmp_{channel}_{theme}_{wave}",
                        name=f"{channel.replace('_', ' ').title()} | {cat.THEME_COPY[theme]}"
                        f" | wave {wave}",
                        channel=channel,
                        message_theme=theme,
                    )
                )
    return campaigns


def _pick(rng: random.Random, items: tuple[str, ...], weights: tuple[float, ...]) -> str:
    """One weighted choice."""
    return rng.choices(items, weights=weights)[0]


def _domain(rng: random.Random, minter: Minter, tld: str) -> tuple[str, str]:
    """A unique (company name, e-mail domain) pair."""
    attempt = 0
    while True:
        prefix = rng.choice(cat.COMPANY_PREFIXES)
        suffix = rng.choice(cat.COMPANY_SUFFIXES)
        ending = tld if rng.random() < 0.7 else rng.choice(cat.EXTRA_TLDS)
        # Once the plain names run out (large populations), add a number as firms do.
        stem = f"{prefix}{suffix}" if attempt < 20 else f"{prefix}{suffix}{rng.randrange(2, 10000)}"
        if minter.claim(f"domain:{stem}{ending}"):
            return f"{prefix.capitalize()} {suffix.capitalize()}", stem + ending
        attempt += 1


def _account(rng: random.Random, minter: Minter, segment: str) -> Account:
    """A new account of ``segment`` with a country, industry and unique domain."""
    countries = tuple(cat.COUNTRIES)
    country = rng.choices(countries, weights=[cat.COUNTRIES[c][3] for c in countries])[0]
    region, currency, tld, _ = cat.COUNTRIES[country]
    name, domain = _domain(rng, minter, tld)
    low, high = cat.EMPLOYEES[segment]
    return Account(
        account_id=minter.salesforce_id("001"),
        name=name,
        domain=domain,
        segment=segment,
        industry=rng.choice(cat.INDUSTRIES),
        country=country,
        region=region,
        currency=currency,
        employees=rng.randint(low, high),
        email_pattern=rng.choice(cat.EMAIL_PATTERNS),
    )


def _local_part(pattern: str, first: str, last: str) -> str:
    """The local part of a work address in the company's e-mail pattern."""
    return {
        "first.last": f"{first}.{last}",
        "flast": f"{first[0]}{last}",
        "first": first,
        "first_last": f"{first}_{last}",
        "firstl": f"{first}{last[0]}",
    }[pattern]


def _work_email(minter: Minter, account: Account, first: str, last: str) -> str:
    """A unique work address; namesakes in one company get a digit."""
    base = _local_part(account.email_pattern, first, last)
    for n in range(1000):
        email = f"{base}{n if n else ''}@{account.domain}"
        if minter.claim(email):
            return email
    raise RuntimeError("could not find a free work e-mail")  # pragma: no cover


def _personal_email(rng: random.Random, minter: Minter, first: str, last: str) -> str:
    """A unique personal address at a web-mail provider."""
    while True:
        local = rng.choice((f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}"))
        email = f"{local}{rng.randrange(10, 10000)}@{rng.choice(cat.PERSONAL_DOMAINS)}"
        if minter.claim(email):
            return email


def _path(rng: random.Random) -> str:
    """How the person first meets the company: inbound web, a trade show, outbound, referral."""
    return _pick(rng, ("inbound", "event", "outbound", "referral"), (0.82, 0.05, 0.08, 0.05))


def _person(
    rng: random.Random,
    minter: Minter,
    account: Account,
    index: int,
    profile: Profile,
    roles: dict[tuple[str, str], str],
) -> Person:
    """One person of ``account`` with all identifier values minted and their roles noted."""
    first, last = rng.choice(cat.FIRST_NAMES), rng.choice(cat.LAST_NAMES)
    persona = _pick(rng, cat.PERSONAS, cat.PERSONA_WEIGHTS)
    theme = cat.PERSONA_THEME[persona] if rng.random() < 0.6 else rng.choice(cat.THEMES)
    n_devices = min(profile.max_devices, 1 + int(rng.expovariate(1.2)))
    person = Person(
        person_id=f"per_{index + 1:06d}",
        index=index,
        account=account,
        first=first,
        last=last,
        persona=persona,
        title=rng.choice(cat.TITLES[persona]),
        path=_path(rng),
        primary_theme=theme,
        consistent_story=rng.random() < 0.4,
        work_email=_work_email(minter, account, first, last),
        devices=tuple(minter.anonymous_id() for _ in range(n_devices)),
        lead_id=minter.salesforce_id("00Q"),
        contact_id=minter.salesforce_id("003"),
        user_id=minter.user_id(),
        requester_id=minter.requester_id(),
    )
    if rng.random() < profile.personal_email_rate:
        person.personal_email = _personal_email(rng, minter, first, last)
    if account.region == "americas" and rng.random() < profile.phone_rate:
        person.phone = minter.phone()
    if rng.random() < profile.second_requester_rate:
        person.second_requester_id = minter.requester_id()
    roles[("email", person.work_email)] = "work_email"
    if person.personal_email:
        roles[("email", person.personal_email)] = "personal_email"
    if person.phone_e164:
        roles[("phone", person.phone_e164)] = "phone"
    for device in person.devices:
        roles[("anonymous_id", device)] = "device"
    roles[("lead_id", person.lead_id)] = "lead"
    roles[("contact_id", person.contact_id)] = "contact"
    roles[("user_id", person.user_id)] = "product_user"
    roles[("ticket_requester_id", person.requester_id)] = "ticket_requester"
    if person.second_requester_id:
        roles[("ticket_requester_id", person.second_requester_id)] = "second_ticket_requester"
    return person


def _shared_identifiers(
    rng: random.Random,
    minter: Minter,
    account: Account,
    size: int,
    profile: Profile,
    roles: dict[tuple[str, str], str],
) -> None:
    """Profile "messy": a support inbox or an office switchboard several colleagues use."""
    if size < 3:
        return
    if rng.random() < profile.shared_inbox_account_rate:
        inbox = f"{rng.choice(cat.SHARED_INBOXES)}@{account.domain}"
        if minter.claim(inbox):
            account.support_inbox = inbox
            account.support_requester_id = minter.requester_id()
            roles[("email", inbox)] = "shared_inbox"
            roles[("ticket_requester_id", account.support_requester_id)] = "shared_requester"
    if account.region == "americas" and rng.random() < profile.switchboard_account_rate:
        account.switchboard = minter.phone()
        roles[("phone", phone_e164(account.switchboard))] = "switchboard"


def build_population(rng: random.Random, people: int, profile: Profile) -> Population:
    """Accounts filled with colleagues until ``people`` people exist, plus the campaigns."""
    minter = Minter(rng)
    roles: dict[tuple[str, str], str] = {}
    accounts: list[Account] = []
    persons: list[Person] = []
    while len(persons) < people:
        segment = _pick(rng, cat.SEGMENTS, cat.SEGMENT_WEIGHTS)
        account = _account(rng, minter, segment)
        sizes, weights = cat.ACCOUNT_SIZES[segment]
        size = min(rng.choices(sizes, weights=weights)[0], people - len(persons))
        _shared_identifiers(rng, minter, account, size, profile, roles)
        accounts.append(account)
        for _ in range(size):
            persons.append(_person(rng, minter, account, len(persons), profile, roles))
    return Population(
        accounts=accounts,
        people=persons,
        campaigns=build_campaigns(),
        minter=minter,
        roles=roles,
    )
