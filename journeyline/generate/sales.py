"""Sales touchpoints in Salesforce: lead, first contact, conversion, opportunity, deal.

The lead record knows the e-mail the lead came in with; the conversion event carries the
lead id, the new contact id and the work e-mail together (that is how Salesforce converts
a lead), and everything after it is keyed by the contact id, sometimes with a phone.
"""

from __future__ import annotations

from dataclasses import dataclass

from journeyline.generate import catalog as cat
from journeyline.generate.clock import HOUR, MINUTE
from journeyline.generate.context import Journey
from journeyline.generate.events import Event

WIN_RATES: dict[str, float] = {"smb": 0.34, "mid_market": 0.30, "enterprise": 0.24}


@dataclass(frozen=True)
class Won:
    """A closed-won deal: when, for how much, and the contract term it starts."""

    at: int
    amount_cents: int
    contract_months: int


def first_contact_delay(j: Journey) -> int:
    """Time until sales first reaches out after a hand-off; about a fifth breach 24 h."""
    if j.rng.random() < 0.78:
        return j.between(0.25, 20, HOUR)
    return j.between(25, 120, HOUR)


def _with_phone(j: Journey, ids: dict[str, str]) -> dict[str, str]:
    """Add the number the rep dialled: the person's own, or (messy) the office switchboard."""
    person, rng = j.person, j.rng
    switchboard = person.account.switchboard
    if switchboard and rng.random() < j.profile.switchboard_call_rate:
        ids["phone"] = j.phone(switchboard)
    elif person.phone and rng.random() < 0.5:
        ids["phone"] = j.phone(person.phone)
    return ids


def touch(j: Journey, at: int, key: tuple[str, str], owner: str) -> Event | None:
    """A rep calls or e-mails the person (``sales_contacted``)."""
    rng = j.rng
    call = rng.random() < 0.55
    ids = {key[0]: key[1]}
    if call:
        ids = _with_phone(j, ids)
    return j.emit(
        at,
        "sales",
        "salesforce",
        "sales_contacted",
        ids,
        channel="phone" if call else "email",
        theme=j.theme("sales"),
        properties={
            "activity": "call" if call else "email",
            "outcome": rng.choice(("connected", "voicemail", "no_answer"))
            if call
            else rng.choice(("sent", "replied")),
            "owner": owner,
        },
    )


def meeting(j: Journey, at: int, key: tuple[str, str], owner: str, kind: str) -> Event | None:
    """A discovery call, a demo or a negotiation meeting (``meeting_held``)."""
    return j.emit(
        at,
        "sales",
        "salesforce",
        "meeting_held",
        {key[0]: key[1]},
        channel="meeting",
        theme=j.theme("sales"),
        properties={
            "meeting_type": kind,
            "duration_minutes": j.rng.choice((30, 45, 60)),
            "owner": owner,
        },
    )


def work_lead(
    j: Journey,
    at: int,
    email: str,
    lead_source: str,
    channel: str | None,
    sal_rate: float,
    sql_rate: float = 0.55,
) -> Won | None:
    """``lead_created`` then outreach; some leads convert (SAL) and get an opportunity."""
    person, rng = j.person, j.rng
    owner = rng.choice(cat.SALES_REPS)
    lead = j.emit(
        at,
        "sales",
        "salesforce",
        "lead_created",
        {"lead_id": person.lead_id, "email": j.email(email)},
        channel=channel,
        properties={
            "lead_source": lead_source,
            "status": "Open",
            "company": person.account.name,
            "title": person.title,
            "owner": owner,
        },
    )
    if lead is None or rng.random() < 0.05:  # never worked
        return None
    key = ("lead_id", person.lead_id)
    t = at + first_contact_delay(j)
    touch(j, t, key, owner)
    converts = rng.random() < sal_rate
    for _ in range(rng.randint(0, 1) if converts else rng.randint(0, 3)):
        t += j.between(1, 5)
        touch(j, t, key, owner)
    if not converts:
        return None
    t += j.between(1, 7)
    meeting(j, t, key, owner, "discovery")
    t += j.between(0.1, 3)
    converted = j.emit(
        t,
        "sales",
        "salesforce",
        "sal_accepted",
        {
            "lead_id": person.lead_id,
            "contact_id": person.contact_id,
            "email": j.email(person.work_email),
        },
        theme=None,
        properties={"converted": True, "status": "Qualified", "owner": owner},
    )
    if converted is None:
        return None
    if rng.random() >= sql_rate:
        touch(j, t + j.between(3, 20), ("contact_id", person.contact_id), owner)
        return None
    return opportunity(j, t + j.between(2, 21), owner)


def _opportunity_id(j: Journey) -> str:
    """A Salesforce-style opportunity id (a property, not an identifier)."""
    return "006" + "".join(j.rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(15))


def opportunity(
    j: Journey,
    at: int,
    owner: str,
    *,
    referral: bool = False,
    win_bonus: float = 0.0,
) -> Won | None:
    """An opportunity through its stages to won, lost, or still open at the window end.

    A referral skips lead and MQL: the opportunity is created straight on a new contact,
    so its first event carries the contact id with the work e-mail.
    """
    person, rng = j.person, j.rng
    segment = person.account.segment
    contact = ("contact_id", person.contact_id)
    ids = {"contact_id": person.contact_id}
    if referral:
        ids["email"] = j.email(person.work_email)
    low, high = cat.DEAL_SIZES[segment]
    amount = rng.randint(low // 100, high // 100) * 100
    opp_id = _opportunity_id(j)
    base = {"opportunity_id": opp_id, "owner": owner}
    created = j.emit(
        at,
        "sales",
        "salesforce",
        "opportunity_created",
        ids,
        channel="referral" if referral else None,
        properties={
            **base,
            "stage_name": cat.OPPORTUNITY_STAGES[0],
            "expected_amount": amount,
            "lead_source": cat.LEAD_SOURCES["referral"] if referral else "converted_lead",
        },
    )
    if created is None:
        return None
    win_rate = min(0.9, WIN_RATES[segment] + win_bonus)
    fate = rng.choices(
        ("won", "lost", "open"), weights=(win_rate, (1 - win_rate) * 0.7, (1 - win_rate) * 0.3)
    )[0]
    cycle = j.between(20, 90)
    last_stage = 3 if fate == "won" else rng.randint(1, 3)
    meeting(j, at + int(cycle * rng.uniform(0.05, 0.15)), contact, owner, "demo")
    previous = cat.OPPORTUNITY_STAGES[0]
    for index, fraction in ((1, 0.2), (2, 0.5), (3, 0.75)):
        if index > last_stage:
            break
        t = at + int(cycle * fraction)
        stage = cat.OPPORTUNITY_STAGES[index]
        j.emit(
            t,
            "sales",
            "salesforce",
            "opportunity_stage_changed",
            {"contact_id": contact[1]},
            properties={**base, "from_stage": previous, "stage_name": stage},
        )
        previous = stage
        if index == 2:
            j.emit(
                t + j.between(1, 48, HOUR),
                "sales",
                "salesforce",
                "proposal_sent",
                {"contact_id": contact[1]},
                channel="email",
                theme=j.theme("sales"),
                properties={**base, "proposal_amount": amount},
            )
        if rng.random() < 0.5:
            touch(j, t + j.between(1, 4), contact, owner)
    end = at + cycle
    if fate == "open":
        return None
    if fate == "lost":
        j.emit(
            end,
            "sales",
            "salesforce",
            "deal_lost",
            {"contact_id": contact[1]},
            properties={
                **base,
                "stage_name": "Closed Lost",
                "from_stage": previous,
                "loss_reason": rng.choice(cat.LOSS_REASONS),
            },
        )
        return None
    months = 3 if segment == "smb" and rng.random() < 0.5 else 12
    meeting(j, end - j.between(1, 5), contact, owner, "negotiation")
    won = j.emit(
        end + j.between(1, 50, MINUTE),
        "sales",
        "salesforce",
        "deal_won",
        {"contact_id": contact[1]},
        amount_cents=amount * 100,
        properties={
            **base,
            "stage_name": "Closed Won",
            "from_stage": previous,
            "contract_months": months,
            "plan": cat.PLANS[segment],
        },
    )
    return None if won is None else Won(won.occurred, amount * 100, months)
