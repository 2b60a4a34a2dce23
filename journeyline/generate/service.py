"""Service touchpoints after a won deal (Zendesk): onboarding, tickets, surveys, renewals.

Everything here happens strictly after ``deal_won`` so the stage rules hold: advocates
(a quarter of customers) refer, review well and answer NPS 9-10; some others churn.
Onboarding ties the product ``user_id`` to the work e-mail; a ticket ties the requester
id to the e-mail it was sent from.
"""

from __future__ import annotations

from typing import Any

from journeyline.generate import catalog as cat
from journeyline.generate.clock import DAY, HOUR, MINUTE
from journeyline.generate.context import Journey
from journeyline.generate.marketing import product_login
from journeyline.generate.sales import Won

ADVOCATE_RATE = 0.25
CHURN_RATE = 0.20
_TICKETS_PER_YEAR = {"smb": 4.0, "mid_market": 7.0, "enterprise": 12.0}


def _emit(j: Journey, at: int, event_type: str, ids: dict[str, str], **fields: Any) -> None:
    """Emit a Zendesk service event."""
    j.emit(at, "service", "zendesk", event_type, ids, **fields)


def _typo(j: Journey, email: str) -> str:
    """Profile ``messy``: a one-off misspelling of ``email`` (swapped letters, bad domain)."""
    local, domain = email.split("@", 1)
    rng = j.rng
    for _ in range(10):
        if domain in cat.DOMAIN_TYPOS and rng.random() < 0.5:
            typo = f"{local}@{cat.DOMAIN_TYPOS[domain]}"
        elif len(local) > 3:
            i = rng.randrange(len(local) - 1)
            typo = f"{local[:i]}{local[i + 1]}{local[i]}{local[i + 2 :]}@{domain}"
        else:
            typo = f"{local}@{domain.replace('.', '', 1)}.com"
        if typo != email and j.population.minter.claim(typo):
            j.population.roles[("email", typo)] = "typo_email"
            return typo
    return email


def _requester(j: Journey, first: bool) -> tuple[str, str]:
    """Who files a ticket: (requester id, e-mail). Messy data adds shared and second inboxes."""
    person, rng, profile = j.person, j.rng, j.profile
    account = person.account
    inbox = None if first else j.team_inbox()
    if inbox and account.support_requester_id:
        return account.support_requester_id, inbox
    if not first and person.second_requester_id and person.personal_email and rng.random() < 0.5:
        return person.second_requester_id, person.personal_email
    if not first and j.personal_email_linked and person.personal_email and rng.random() < 0.2:
        return person.requester_id, person.personal_email
    email = person.work_email
    if rng.random() < profile.typo_rate:
        email = _typo(j, email)
    return person.requester_id, email


def ticket(j: Journey, at: int, first: bool, horizon: int) -> int:
    """One ticket: opened, replied, maybe reopened, resolved, maybe rated (CSAT).

    Returns a rough experience penalty (slow replies, reopens) for later survey scores.
    """
    rng = j.rng
    requester, email = _requester(j, first)
    ticket_id = str(rng.randrange(100000, 999999))
    priority = rng.choices(cat.TICKET_PRIORITIES, weights=cat.TICKET_PRIORITY_WEIGHTS)[0]
    base = {"ticket_id": ticket_id, "priority": priority}
    rid = {"ticket_requester_id": requester}
    _emit(
        j,
        at,
        "ticket_opened",
        {**rid, "email": j.email(email)},
        channel=rng.choice(cat.TICKET_CHANNELS),
        properties={**base, "subject": rng.choice(cat.TICKET_SUBJECTS), "status": "new"},
    )
    penalty = 0
    slow = rng.random() < 0.15
    t = at + (j.between(24, 72, HOUR) if slow else j.between(0.1, 8, HOUR))
    penalty += slow
    for reply in range(rng.randint(1, 3)):
        if t >= horizon:
            return penalty
        _emit(
            j,
            t,
            "ticket_replied",
            dict(rid),
            channel="email",
            properties={**base, "agent": rng.choice(cat.SUPPORT_AGENTS), "first_reply": reply == 0},
        )
        t += j.between(1, 30, HOUR)
    _emit(j, t, "ticket_resolved", dict(rid), properties={**base, "status": "solved"})
    if rng.random() < 0.12:
        penalty += 1
        t += j.between(1, 5)
        _emit(j, t, "ticket_reopened", dict(rid), properties={**base, "status": "open"})
        t += j.between(1, 24, HOUR)
        _emit(
            j,
            t,
            "ticket_replied",
            dict(rid),
            channel="email",
            properties={**base, "agent": rng.choice(cat.SUPPORT_AGENTS), "first_reply": False},
        )
        t += j.between(2, 48, HOUR)
        _emit(j, t, "ticket_resolved", dict(rid), properties={**base, "status": "solved"})
    if rng.random() < 0.45 and t < horizon:
        score = max(1, min(5, rng.choice((5, 5, 4, 4, 4, 3, 2)) - penalty))
        _emit(
            j,
            t + j.between(1, 24, HOUR),
            "survey_answered",
            {"user_id": j.person.user_id, **rid},
            channel="email",
            score=score,
            survey_type="csat",
            properties={"ticket_id": ticket_id},
        )
    return penalty


def _nps(j: Journey, advocate: bool, penalty: int) -> int:
    """An NPS answer: advocates are promoters, others drop with bad experiences."""
    rng = j.rng
    if advocate:
        return rng.choice((9, 10, 10))
    score = rng.choices(range(9), weights=(1, 1, 1, 2, 2, 4, 6, 12, 14))[0]
    return max(0, score - 2 * penalty)


def customer(j: Journey, won: Won) -> None:
    """The customer life after ``won``: onboarding, logins, tickets, surveys, renewal or churn."""
    person, rng = j.person, j.rng
    segment = person.account.segment
    advocate = rng.random() < ADVOCATE_RATE
    churn_at = won.at + j.between(45, 270) if not advocate and rng.random() < CHURN_RATE else None
    horizon = min(j.end, churn_at) if churn_at is not None else j.end
    user = {"user_id": person.user_id}
    csm = rng.choice(cat.CSMS)
    plan = {"plan": cat.PLANS[segment], "csm": csm}

    onboarded = won.at + j.between(2, 14)
    if onboarded >= horizon:
        return
    _emit(
        j,
        onboarded,
        "onboarding_started",
        {**user, "email": j.email(person.work_email)},
        channel="meeting",
        theme=j.theme("service"),
        properties=plan,
    )
    completed = onboarded + j.between(10, 45) if rng.random() < 0.85 else None
    if completed is not None and completed < horizon:
        _emit(
            j,
            completed,
            "onboarding_completed",
            dict(user),
            channel="in_app",
            theme=j.theme("service"),
            properties=plan,
        )
        if rng.random() < 0.5:
            _emit(
                j,
                completed + j.between(1, 5),
                "survey_answered",
                dict(user),
                channel="in_app",
                score=rng.choices(range(1, 8), weights=(1, 1, 2, 3, 5, 6, 4))[0],
                survey_type="ces",
                properties={"touchpoint": "onboarding"},
            )

    for _ in range(rng.randint(2, 8)):
        at = onboarded + j.between(1, 200)
        if at < horizon:
            product_login(j, at)

    penalty = 0
    rate = _TICKETS_PER_YEAR[segment] / 365
    t = onboarded + int(rng.expovariate(rate * 3) * DAY)  # a burst of early questions
    first = True
    while t < horizon:
        penalty += ticket(j, t, first, horizon)
        first = False
        t += int(rng.expovariate(rate) * DAY) + j.between(10, 120, MINUTE)

    nps_at = won.at + j.between(45, 90)
    while nps_at < horizon:
        _emit(
            j,
            nps_at,
            "survey_answered",
            dict(user),
            channel="email",
            score=_nps(j, advocate, penalty),
            survey_type="nps",
            properties={"touchpoint": "relationship"},
        )
        nps_at += j.between(85, 100)

    if advocate:
        if rng.random() < 0.6:
            _emit(
                j,
                won.at + j.between(30, 200),
                "referral_made",
                dict(user),
                channel="referral",
                properties={
                    "referred_company": f"{rng.choice(cat.COMPANY_PREFIXES).title()} "
                    f"{rng.choice(cat.COMPANY_SUFFIXES).title()}"
                },
            )
        if rng.random() < 0.5:
            _emit(
                j,
                won.at + j.between(30, 200),
                "review_posted",
                dict(user),
                channel="web",
                score=rng.choice((4, 5, 5)),
                properties={"platform": rng.choice(cat.REVIEW_SITES)},
            )
    elif rng.random() < 0.08:
        _emit(
            j,
            won.at + j.between(30, 200),
            "review_posted",
            dict(user),
            channel="web",
            score=rng.randint(1, 3),
            properties={"platform": rng.choice(cat.REVIEW_SITES)},
        )

    renew_at = won.at + won.contract_months * 30 * DAY
    while renew_at < horizon:
        _emit(
            j,
            renew_at,
            "renewal",
            dict(user),
            channel="email",
            theme=j.theme("service"),
            amount_cents=won.amount_cents,
            properties={"term_months": won.contract_months},
        )
        renew_at += won.contract_months * 30 * DAY
    if churn_at is not None:
        _emit(
            j,
            churn_at,
            "churned",
            dict(user),
            channel="email",
            properties={"reason": rng.choice(cat.CHURN_REASONS)},
        )
