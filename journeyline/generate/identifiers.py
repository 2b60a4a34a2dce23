"""Minting unique identifier values and writing them the many ways real systems do.

Every value minted here is unique across the whole data set (so no two people share one
by accident), and each formatting variant normalises back to the same value: e-mail by
trimming and lower-casing, phone to E.164.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable

import phonenumbers

from journeyline.generate.catalog import AREA_CODES

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_NON_DIGITS = re.compile(r"\D")


class Minter:
    """Draws identifier values from a seeded RNG and refuses to hand out one twice."""

    def __init__(self, rng: random.Random) -> None:
        """Mint from ``rng``; every value handed out is remembered."""
        self.rng = rng
        self._used: set[str] = set()

    def claim(self, value: str) -> bool:
        """Reserve ``value`` (normalised form); False when it is already taken."""
        if value in self._used:
            return False
        self._used.add(value)
        return True

    def _unique(self, draw: Callable[[], str]) -> str:
        """Call ``draw`` until it returns a value nobody holds yet, and claim it."""
        while True:
            value = draw()
            if self.claim(value):
                return value

    def anonymous_id(self) -> str:
        """A Segment-style anonymous id (UUID v4 text)."""

        def draw() -> str:
            """One candidate value."""
            h = f"{self.rng.getrandbits(128):032x}"
            return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"

        return self._unique(draw)

    def salesforce_id(self, prefix: str) -> str:
        """An 18-character Salesforce-style id: ``00Q`` lead, ``003`` contact, ``001`` account."""
        width = 18 - len(prefix)

        def draw() -> str:
            """One candidate value."""
            n = self.rng.getrandbits(6 * width)
            chars = []
            for _ in range(width):
                n, r = divmod(n, 62)
                chars.append(_BASE62[r])
            return prefix + "".join(chars)

        return self._unique(draw)

    def user_id(self) -> str:
        """A product user id such as ``usr_3f9a0c1d2e4b``."""
        return self._unique(lambda: f"usr_{self.rng.getrandbits(48):012x}")

    def requester_id(self) -> str:
        """A Zendesk-style numeric user id (13 digits, as text)."""
        return self._unique(lambda: str(self.rng.randrange(10**12, 10**13)))

    def phone(self) -> str:
        """Ten US digits (area code, exchange, line) that phonenumbers accepts as valid."""
        while True:
            area = self.rng.choice(AREA_CODES)
            exchange = self.rng.randrange(200, 1000)
            if exchange % 100 == 11 or exchange == 555:
                continue
            digits = f"{area}{exchange}{self.rng.randrange(10000):04d}"
            if not phonenumbers.is_valid_number(phonenumbers.parse(digits, "US")):
                continue
            if self.claim("+1" + digits):
                return digits


def phone_e164(digits: str) -> str:
    """E.164 text of ten US digits."""
    return "+1" + digits


def format_phone(rng: random.Random, digits: str) -> str:
    """One of the ways people and CRMs write a US number; all parse to the same E.164."""
    a, e, n = digits[:3], digits[3:6], digits[6:]
    style = rng.randrange(7)
    if style == 0:
        return f"+1 {a}-{e}-{n}"
    if style == 1:
        return f"({a}) {e}-{n}"
    if style == 2:
        return f"{a}.{e}.{n}"
    if style == 3:
        return f"{a}-{e}-{n}"
    if style == 4:
        return f"+1{a}{e}{n}"
    if style == 5:
        return f"1 ({a}) {e}-{n}"
    return f"+1 ({a}) {e} {n}"


def format_email(rng: random.Random, email: str) -> str:
    """The address as some system stored it: mostly as typed, sometimes cased or padded."""
    roll = rng.random()
    if roll < 0.70:
        return email
    if roll < 0.84:
        local, domain = email.split("@", 1)
        head, _, tail = domain.partition(".")
        cased = ".".join(part.capitalize() for part in local.split("."))
        return f"{cased}@{head.capitalize()}.{tail.upper()}"
    if roll < 0.94:
        return " " * rng.randrange(1, 3) + email + " " * rng.randrange(0, 2)
    return email.upper()


def normalise(id_type: str, value: str) -> str:
    """The matching form of a generated value: e-mail trimmed and lower-cased, phone E.164."""
    if id_type == "email":
        return value.strip().lower()
    if id_type == "phone":
        digits = _NON_DIGITS.sub("", value)
        return "+" + (digits if len(digits) == 11 else "1" + digits)
    return value.strip()
