"""One person's whole journey: which path they arrive by and how far down the funnel they go.

Paths: inbound web (anonymous visits, then maybe a form), a trade-show badge scan,
outbound prospecting, and customer referrals (often straight to an opportunity). The
conversion rates follow a typical B2B funnel, lifted or damped by persona.
"""

from __future__ import annotations

import random

from journeyline.generate import catalog as cat
from journeyline.generate import marketing, sales, service
from journeyline.generate.clock import MINUTE, SECOND
from journeyline.generate.context import Journey
from journeyline.generate.population import Person, Population
from journeyline.generate.profiles import Profile

# Inbound visitors who ever fill a form: with the other paths, about half of all people
# stay anonymous visitors.
IDENTIFY_RATE = 0.45
MQL_RATE = 0.35  # identified lead -> MQL
EVENT_MQL_RATE = 0.45  # trade-show contacts are warmer
SAL_RATE = 0.55  # MQL -> SAL (and SAL -> SQL inside sales.work_lead)
OUTBOUND_SAL_RATE = 0.25
REFERRAL_DIRECT_RATE = 0.70  # referrals that start as an opportunity, skipping lead and MQL
PERSONAL_FIRST_RATE = 0.15  # people who fill the first form with their personal address


def person_rng(seed: int, profile: Profile, person: Person) -> random.Random:
    """The person's own RNG, so one journey never shifts another's random draws."""
    return random.Random(f"journeyline:{seed}:{profile.name}:person:{person.index}")


def build_journey(
    person: Person,
    population: Population,
    profile: Profile,
    seed: int,
    window: tuple[int, int],
    event_ids: set[str],
) -> Journey:
    """Every event of ``person`` inside ``window`` (ms), starting at a uniform random time."""
    rng = person_rng(seed, profile, person)
    j = Journey(person, population, profile, rng, window, event_ids)
    start, end = window
    t0 = start + rng.randrange(end - start)
    lift = cat.PERSONA_LIFT[person.persona]
    if person.path == "inbound":
        _inbound(j, t0, lift)
    elif person.path == "event":
        _event(j, t0, lift)
    elif person.path == "outbound":
        _outbound(j, t0, lift)
    else:
        _referral(j, t0)
    return j


def _sell_and_serve(j: Journey, won: sales.Won | None) -> None:
    """Hand a won deal over to service; lost and open deals end here."""
    if won is not None:
        service.customer(j, won)


def _identified(j: Journey, since: int, mql_rate: float, lift: float, lead_source: str) -> None:
    """After the first identification: nurture, maybe MQL, then sales and service."""
    marketing.nurture(j, since)
    if j.profile.isolated_personal_email_rate and j.rng.random() < (
        j.profile.isolated_personal_email_rate
    ):
        marketing.isolated_sends(j, since)
    if j.rng.random() >= mql_rate:
        return
    mql = marketing.reach_mql(j, since + j.between(2, 45))
    if mql is None or j.marketing_email is None:
        return
    won = sales.work_lead(
        j,
        mql.occurred + j.between(1, 30, MINUTE),
        j.marketing_email,
        lead_source,
        None,
        sal_rate=min(0.95, SAL_RATE * lift**0.5),
    )
    _sell_and_serve(j, won)


def _inbound(j: Journey, t0: int, lift: float) -> None:
    """Anonymous visits; maybe a first form (work or personal e-mail), then the funnel."""
    rng, person = j.rng, j.person
    channel = rng.choices(cat.INBOUND_CHANNELS, weights=cat.INBOUND_WEIGHTS)[0]
    sessions = 1 + min(5, int(rng.expovariate(0.8)))
    t = marketing.anonymous_visits(j, t0, channel, sessions)
    if rng.random() >= IDENTIFY_RATE * lift**0.5:
        if rng.random() < j.profile.visitor_second_device_rate:
            marketing.second_device_visits(j, t)
        return
    email = person.work_email
    if person.personal_email and rng.random() < PERSONAL_FIRST_RATE:
        email = person.personal_email
    j.marketing_email = email
    form = marketing.identify(j, t + j.between(5, 120, SECOND), person.devices[0], email)
    if form is not None:
        _identified(j, form.occurred, MQL_RATE * lift, lift, cat.LEAD_SOURCES["inbound"])


def _event(j: Journey, t0: int, lift: float) -> None:
    """A trade-show badge scan identifies the person at once; warmer than inbound."""
    if marketing.event_attended(j, t0) is None:
        return
    j.marketing_email = j.person.work_email
    _identified(j, t0, EVENT_MQL_RATE * lift, lift, cat.LEAD_SOURCES["event"])


def _outbound(j: Journey, t0: int, lift: float) -> None:
    """A rep prospects a bought list: lead first, nurture e-mail beside it, no MQL."""
    j.marketing_email = j.person.work_email
    won = sales.work_lead(
        j,
        t0,
        j.person.work_email,
        cat.LEAD_SOURCES["outbound"],
        "email",
        sal_rate=OUTBOUND_SAL_RATE * lift,
    )
    marketing.nurture(j, t0 + j.between(1, 3))
    _sell_and_serve(j, won)


def _referral(j: Journey, t0: int) -> None:
    """A customer's referral: mostly straight to an opportunity, else a warm lead."""
    j.marketing_email = j.person.work_email
    if j.rng.random() < REFERRAL_DIRECT_RATE:
        won = sales.opportunity(j, t0, j.rng.choice(cat.SALES_REPS), referral=True, win_bonus=0.12)
    else:
        won = sales.work_lead(
            j, t0, j.person.work_email, cat.LEAD_SOURCES["referral"], "referral", sal_rate=0.7
        )
    marketing.nurture(j, t0 + j.between(2, 5))
    _sell_and_serve(j, won)
