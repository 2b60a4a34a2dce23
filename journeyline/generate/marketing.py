"""Marketing touchpoints: web sessions, identification, nurture e-mail and the MQL hand-off.

Web traffic is anonymous (an ``anonymous_id`` per device) until a form, a download or a
webinar registration ties the device to an e-mail address; e-mail click-throughs and
product logins are the linking sessions through which a person's other devices join.
"""

from __future__ import annotations

from typing import Any

from journeyline.generate import catalog as cat
from journeyline.generate.clock import HOUR, MINUTE, SECOND
from journeyline.generate.context import Journey
from journeyline.generate.events import Event
from journeyline.generate.population import Campaign

PAID = ("paid_search", "paid_social")


def _platform(j: Journey) -> str:
    """The marketing platform (hubspot or marketo) of the person's account."""
    return j.person.account.marketing_platform


def _traffic(j: Journey, channel: str, campaign: Campaign | None) -> dict[str, Any]:
    """Referrer and UTM parameters of a session's landing page."""
    rng = j.rng
    props: dict[str, Any] = {}
    if channel == "organic_search":
        props["referrer"] = f"https://www.{rng.choice(cat.SEARCH_ENGINES)}.com/"
    elif channel == "social":
        props["referrer"] = f"https://www.{rng.choice(cat.SOCIAL_SITES)}.com/"
    elif channel == "referral":
        props["referrer"] = f"https://{rng.choice(cat.REFERRERS)}/"
    if campaign is not None:
        props["utm_source"] = {
            "email": _platform(j),
            "paid_search": "google",
            "paid_social": "linkedin",
        }.get(channel, channel)
        props["utm_medium"] = {"paid_search": "cpc", "paid_social": "paid_social"}.get(
            channel, channel
        )
        props["utm_campaign"] = campaign.campaign_id
    return props


def web_session(
    j: Journey,
    at: int,
    device: str,
    channel: str,
    *,
    known_ids: dict[str, str] | None = None,
    campaign: Campaign | None = None,
    pages: tuple[int, int] = (0, 4),
) -> tuple[int, Event | None]:
    """A visit: an optional ad click, a landing page, then a few anonymous page views.

    ``known_ids`` (an e-mail from a click-through, a user_id after login) ride on the
    landing page only, as a tracking script's identify call does. Returns the session's
    end time and the landing event (None outside the window).
    """
    rng = j.rng
    t = at
    known = bool(known_ids)
    if channel in PAID and campaign is not None:
        j.emit(
            t,
            "marketing",
            "segment",
            "ad_clicked",
            {"anonymous_id": device},
            channel=channel,
            campaign=campaign,
            known=False,
            properties={
                "ad_network": rng.choice(cat.AD_NETWORKS[channel]),
                "ad_group": f"{campaign.message_theme}_{rng.randint(1, 4)}",
            },
        )
        t += j.between(1, 8, SECOND)
    if known_ids and "user_id" in known_ids:
        page, source = rng.choice(cat.APP_PAGES), "segment"
    elif campaign is not None:
        page, source = cat.THEME_PAGES[campaign.message_theme], "web"
    else:
        page, source = rng.choice(cat.PAGES), "web"
    props = {"page_url": cat.SITE + page, **_traffic(j, channel, campaign)}
    landing = j.emit(
        t,
        "marketing",
        source,
        "page_viewed",
        {"anonymous_id": device, **(known_ids or {})},
        channel=channel,
        campaign=campaign,
        known=known,
        properties=props,
    )
    for _ in range(rng.randint(*pages)):
        t += j.between(10, 240, SECOND)
        j.emit(
            t,
            "marketing",
            source,
            "page_viewed",
            {"anonymous_id": device},
            channel="web",
            known=False,
            properties={"page_url": cat.SITE + rng.choice(cat.PAGES)},
        )
    return t, landing


def anonymous_visits(j: Journey, at: int, channel: str, sessions: int) -> int:
    """The first, anonymous sessions on the person's first device; returns their end."""
    rng = j.rng
    j.introduced = max(j.introduced, 1)
    device = j.person.devices[0]
    t = at
    for n in range(sessions):
        session_channel = channel if n == 0 else rng.choice(("web", "organic_search", channel))
        campaign = None
        if session_channel in PAID or (session_channel == "social" and rng.random() < 0.5):
            campaign = j.campaign(
                "paid_social" if session_channel == "social" else session_channel,
                j.theme("marketing"),
            )
        t, _ = web_session(j, t, device, session_channel, campaign=campaign)
        if n < sessions - 1:
            t += j.between(0.5, 10)
    return t


def second_device_visits(j: Journey, at: int) -> None:
    """Profile ``messy``: a visitor also browses from another device nobody ever links."""
    if len(j.person.devices) < 2:
        return
    j.introduced = max(j.introduced, 2)
    t = at + j.between(1, 30)
    for _ in range(j.rng.randint(1, 3)):
        t, _ = web_session(j, t, j.person.devices[1], j.rng.choice(("web", "organic_search")))
        t += j.between(1, 15)


def identify(j: Journey, at: int, device: str, email: str, kind: str | None = None) -> Event | None:
    """A form, a download or a webinar registration that ties ``device`` to ``email``."""
    rng = j.rng
    kind = (
        kind
        or rng.choices(
            ("form_submitted", "content_downloaded", "webinar_registered"), weights=(45, 35, 20)
        )[0]
    )
    campaign = j.campaign("web", j.theme("marketing"))
    props: dict[str, Any] = {"page_url": cat.SITE + cat.THEME_PAGES[campaign.message_theme]}
    if kind == "form_submitted":
        props["form_name"] = rng.choice(cat.FORMS)
    elif kind == "content_downloaded":
        props["asset_title"] = cat.CONTENT_ASSETS[campaign.message_theme]
    else:
        props["webinar_title"] = cat.THEME_COPY[campaign.message_theme]
    event = j.emit(
        at,
        "marketing",
        _platform(j),
        kind,
        {"anonymous_id": device, "email": j.email(email)},
        channel="web",
        campaign=campaign,
        properties=props,
    )
    j.mark_linked(event, device)
    if event is not None and email == j.person.personal_email:
        j.personal_email_linked = True
    if kind == "webinar_registered" and rng.random() < 0.55:
        j.emit(
            at + j.between(3, 14),
            "marketing",
            _platform(j),
            "webinar_attended",
            {"email": j.email(email)},
            channel="web",
            campaign=campaign,
            properties={
                "webinar_title": props["webinar_title"],
                "minutes_attended": rng.randint(5, 60),
            },
        )
    return event


def event_attended(j: Journey, at: int) -> Event | None:
    """A badge scan at a trade show: the work e-mail, sometimes the phone, no device."""
    person = j.person
    ids = {"email": j.email(person.work_email)}
    if person.phone and j.rng.random() < 0.5:
        ids["phone"] = j.phone(person.phone)
    campaign = j.campaign("event", j.theme("marketing"))
    return j.emit(
        at,
        "marketing",
        _platform(j),
        "event_attended",
        ids,
        channel="event",
        campaign=campaign,
        properties={"event_name": j.rng.choice(cat.EVENTS), "badge_scanned": True},
    )


def click_through(j: Journey, at: int, email: str, campaign: Campaign) -> None:
    """An e-mail click landing on the site: the landing page carries device and e-mail."""
    device = j.device(linking=True)
    if device is None:  # pragma: no cover - a linking session always gets a device
        return
    _, landing = web_session(
        j,
        at,
        device,
        "email",
        known_ids={"email": j.email(email)},
        campaign=campaign,
        pages=(0, 3),
    )
    j.mark_linked(landing, device)


def product_login(j: Journey, at: int) -> None:
    """A customer logs in to the product: the tracker links the device to the user_id."""
    device = j.device(linking=True)
    if device is None:  # pragma: no cover
        return
    _, landing = web_session(
        j,
        at,
        device,
        "web",
        known_ids={"user_id": j.person.user_id},
        pages=(1, 6),
    )
    j.mark_linked(landing, device)


def _send(j: Journey, at: int, email: str, *, engage: bool) -> None:
    """One marketing e-mail: sent, perhaps opened, perhaps clicked through to the site."""
    rng = j.rng
    campaign = j.campaign("email", j.theme("marketing"))
    email_id = f"em_{rng.getrandbits(32):08x}"
    base = {"email_id": email_id, "subject": cat.THEME_COPY[campaign.message_theme]}
    source = _platform(j)
    sent = j.emit(
        at,
        "marketing",
        source,
        "email_sent",
        {"email": j.email(email)},
        channel="email",
        campaign=campaign,
        properties=base,
    )
    if sent is None or rng.random() >= 0.35:
        return
    t = at + j.between(0.5, 48, HOUR)
    j.emit(
        t,
        "marketing",
        source,
        "email_opened",
        {"email": j.email(email)},
        channel="email",
        campaign=campaign,
        properties=dict(base),
    )
    if rng.random() >= 0.25:
        return
    t += j.between(5, 600, SECOND)
    j.emit(
        t,
        "marketing",
        source,
        "email_clicked",
        {"email": j.email(email)},
        channel="email",
        campaign=campaign,
        properties={**base, "link_url": cat.SITE + cat.THEME_PAGES[campaign.message_theme]},
    )
    if engage:
        click_through(j, t + j.between(1, 20, SECOND), email, campaign)


def nurture(j: Journey, since: int) -> None:
    """Nurture e-mail every week or two from ``since`` to the window end, with side visits.

    Engaged people also download content, register for webinars and come back to the
    site on their own; a few unsubscribe and hear nothing more from marketing.
    """
    rng = j.rng
    email = j.marketing_email
    if email is None:
        return
    t = since + j.between(1, 6)
    while t < j.end:
        _send(j, t, email, engage=True)
        roll = rng.random()
        if roll < 0.07:
            device = j.device(linking=True)
            kind = "content_downloaded" if roll < 0.04 else "webinar_registered"
            if device is not None:
                identify(j, t + j.between(1, 4), device, j.team_inbox() or email, kind)
        elif roll < 0.17:
            device = j.device(linking=False)
            if device is not None:
                web_session(
                    j,
                    t + j.between(0.5, 5),
                    device,
                    rng.choice(("web", "organic_search")),
                    pages=(0, 3),
                )
        if rng.random() < 0.015:
            return
        t += j.between(4, 12)


ISOLATED_SENDS_MAX = 3  # an old list fires a few sends, then the address bounces


def isolated_sends(j: Journey, since: int) -> None:
    """Profile ``messy``: an old list mails the personal address a few times, never linked."""
    email = j.person.personal_email
    if email is None or email == j.marketing_email:
        return
    t = since + j.between(5, 60)
    for _ in range(j.rng.randint(1, ISOLATED_SENDS_MAX)):
        if t >= j.end:
            return
        _send(j, t, email, engage=False)
        t += j.between(10, 30)


def reach_mql(j: Journey, at: int) -> Event | None:
    """A high-intent action (demo request) and the platform's ``mql_reached`` minutes later."""
    rng = j.rng
    email = j.marketing_email
    assert email is not None
    device = j.device(linking=True)
    if device is not None:
        identify(j, at, device, email, "form_submitted")
    return j.emit(
        at + j.between(2, 30, MINUTE),
        "marketing",
        _platform(j),
        "mql_reached",
        {"email": j.email(email)},
        properties={"lead_score": rng.randint(60, 100), "mql_reason": "high_intent_form"},
    )
