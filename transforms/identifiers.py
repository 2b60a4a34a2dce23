"""Identifier normalisation and blocking (SPEC §4), as plain functions.

Identifiers are normalised before anything matches on them (e-mail trimmed and
lower-cased, phone to E.164, ids trimmed); values that are invalid or blocked
are dropped from the event and counted, never silently linked. With privacy on,
the surviving e-mail and phone values are then keyed-hashed (after
normalisation, so the same person still matches everywhere).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from journeyline.config import IdentityConfig
from journeyline.privacy import IdentifierHasher

try:
    from transforms import _nodeids
except ImportError:  # pragma: no cover (built by setup.py wherever gcc is present)
    _nodeids = None

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")
MAX_IDENTIFIER_CHARS = 320


@dataclass(frozen=True)
class NormalisedIdentifiers:
    """What survived normalisation, and how many values were dropped and why."""

    values: tuple[tuple[str, str], ...]
    invalid: int = 0
    blocked: int = 0

    @property
    def dropped(self) -> int:
        return self.invalid + self.blocked


@lru_cache(maxsize=65536)
def normalise_phone(raw: str, region: str) -> str | None:
    """A phone number in E.164, or None when it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    """A trimmed, lower-cased e-mail address, or None when it does not look like one."""
    value = raw.strip().lower()
    return value if _EMAIL.fullmatch(value) else None


def identifier_text(raw: Any) -> str | None:
    """The text of a raw identifier value: text as it is, a whole number as its digits,
    anything else (a boolean, a float, an object, nothing) None."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    return raw if isinstance(raw, str) else str(raw)


class IdentifierRules:
    """Normalises one event's identifiers according to the identity configuration."""

    def __init__(self, config: IdentityConfig, hasher: IdentifierHasher | None = None) -> None:
        self.hasher = hasher
        self.types = frozenset(config.identifier_types)
        self.region = config.phone_default_region
        everywhere = {v.strip().lower() for v in config.blocked_values.get("*", ())}
        self.blocked = {
            t: everywhere | {v.strip().lower() for v in config.blocked_values.get(t, ())}
            for t in self.types
        }
        every_pattern = config.blocked_patterns.get("*", ())
        self.patterns = {
            t: tuple(re.compile(p) for p in (*every_pattern, *config.blocked_patterns.get(t, ())))
            for t in self.types
        }

    def normalise_value(self, id_type: str, raw: Any) -> str | None:
        """The normalised value, or None when the value is not valid for its type."""
        text = identifier_text(raw)
        if text is None:
            return None
        text = text.strip()
        if not text or len(text) > MAX_IDENTIFIER_CHARS:
            return None
        if id_type == "email":
            return normalise_email(text)
        if id_type == "phone":
            return normalise_phone(text, self.region)
        return text

    def is_blocked(self, id_type: str, value: str) -> bool:
        """True for placeholder values (null, test@example.com, all-zero ids …)."""
        if value.lower() in self.blocked[id_type]:
            return True
        return any(p.search(value) for p in self.patterns[id_type])

    def normalise(self, identifiers: Mapping[str, Any]) -> NormalisedIdentifiers:
        """Normalise every identifier of an event, sorted by type for determinism."""
        kept: list[tuple[str, str]] = []
        invalid = blocked = 0
        for id_type in sorted(identifiers):
            value, was_blocked = self.kept_value(id_type, identifiers[id_type])
            if value is not None:
                kept.append((id_type, value))
            elif was_blocked:
                blocked += 1
            else:
                invalid += 1
        return NormalisedIdentifiers(tuple(kept), invalid, blocked)

    def kept_value(self, id_type: str, raw: Any) -> tuple[str | None, bool]:
        """One identifier: (the value kept, hashed when privacy is on, or None; blocked?).
        None is an identifier not kept: a type not configured, an invalid or a blocked value.
        The per-row contract (``normalise``) and the columnar one both decide here."""
        if id_type not in self.types:
            return None, False
        value = self.normalise_value(id_type, raw)
        if value is None:
            return None, False
        if self.is_blocked(id_type, value):
            return None, True
        return (self.hasher.value(id_type, value) if self.hasher else value), False


_NODE_KEY_SEP = "\x1f"


def _node_hash(key: str) -> int:
    """The signed 64-bit hash of one ``type<US>value`` key."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def node_id(id_type: str, value: str) -> int:
    """A stable signed 64-bit id for one identifier (graph node)."""
    return _node_hash(f"{id_type}{_NODE_KEY_SEP}{value}")


def node_ids(types: pa.Array, values: pa.Array) -> np.ndarray:
    """``node_id`` of many identifiers at once (string arrays without nulls), read-only.

    In C (``transforms/_nodeids.c``, the same BLAKE2b) without the GIL, about 0.25 µs an
    identifier, so the other pool thread runs meanwhile: a memo of the ids hashed before,
    looked up from Python, cost 0.35 µs an identifier under the GIL (its dict of a
    million strings missing the caches) and ~150 MB. Without the extension, hashlib over
    each table's distinct identifiers."""
    plain = types.type == values.type == pa.string() and not types.null_count + values.null_count
    if _nodeids is not None and plain:
        _, type_offsets, type_data = types.buffers()
        _, value_offsets, value_data = values.buffers()
        hashes = _nodeids.node_hashes(
            type_offsets,
            type_data or b"",
            types.offset,
            value_offsets,
            value_data or b"",
            values.offset,
            len(types),
        )
        return np.frombuffer(hashes, np.int64)
    keys = pc.binary_join_element_wise(types, values, _NODE_KEY_SEP).dictionary_encode()
    distinct = keys.dictionary.to_pylist()
    unique = np.fromiter(map(_node_hash, distinct), np.int64, len(distinct))
    nodes = unique[keys.indices.to_numpy(zero_copy_only=False)]
    nodes.flags.writeable = False
    return nodes


def customer_id_for(id_type: str, value: str) -> str:
    """The customer id minted from a component's earliest identifier (stable across runs)."""
    digest = hashlib.blake2b(f"{id_type}\x1f{value}".encode(), digest_size=8).hexdigest()
    return f"cus_{digest}"
