"""Keyed hashing of personal identifiers, suppression of forgotten people, redaction (SPEC §10).

E-mail addresses and phone numbers are replaced by an HMAC-SHA256 of their
*normalised* value right after normalisation, so the same person still matches
across sources while no clear value leaves the pipeline (lake, warehouse,
quarantine, logs). The key never travels with the job: it is read where it is
used, from the environment variable ``privacy.key_env`` (locally, Airflow,
cron) or from Secret Manager (``privacy.key_secret``, Dataflow workers), and is
never logged, pickled into a job graph or written anywhere.

A forgotten person leaves a *suppression*: the keyed hash of every identifier
they had. An incoming event that carries any of them is quarantined with reason
``suppressed`` and its raw text blanked, so reconciliation stays exact and the
person does not come back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from journeyline.config.model import PrivacyConfig
from journeyline.errors import InputError

KEY_MIN_CHARS = 16
HASH_PREFIX = "hmac:"
SUPPRESSED_RAW = "[redacted: the person asked to be forgotten]"
# An e-mail address in free text: a run of address characters, "@", and a domain. It is
# the definition; ``email_spans`` finds its matches in linear time.
_EMAIL_CHAR = r"[^@\s\"'<>,;:()\[\]{}\\]"
_EMAIL_TEXT = re.compile(rf"{_EMAIL_CHAR}+@{_EMAIL_CHAR}+\.[A-Za-z]{{2,}}")
_EMAIL_RUN = re.compile(rf"{_EMAIL_CHAR}+")
_EMAIL_DOMAIN = re.compile(rf"{_EMAIL_CHAR}+\.[A-Za-z]{{2,}}")
# An international number in free text (a leading +); in JSON, any value under a phone key.
_PHONE_TEXT = re.compile(r"\+\d[\d\s().\-]{5,}\d")
_PHONE_KEY = re.compile(r"phone|mobile|fax|tel", re.IGNORECASE)
# What can make redact_own_json change an ASCII text: a phone-like word, an "@", a "+".
_MAY_CHANGE = r"phone|mobile|fax|tel|@|\+"


@lru_cache(maxsize=8)
def _secret_manager_key(name: str) -> bytes:
    """The key from Secret Manager (Application Default Credentials, REST API)."""
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    response = AuthorizedSession(credentials).get(
        f"https://secretmanager.googleapis.com/v1/{name}:access", timeout=30
    )
    if response.status_code != 200:
        raise InputError(
            f"cannot read the hash key from Secret Manager ({name}): HTTP {response.status_code}",
            "grant the job's service account roles/secretmanager.secretAccessor on the secret",
        )
    return base64.b64decode(response.json()["payload"]["data"])


def hash_key(privacy: PrivacyConfig) -> bytes:
    """The HMAC key: the environment variable first, else Secret Manager; clear errors."""
    value = os.environ.get(privacy.key_env, "")
    if value:
        if len(value) < KEY_MIN_CHARS:
            raise InputError(
                f"the hash key in ${privacy.key_env} is shorter than {KEY_MIN_CHARS} characters",
                "use a long random key, e.g. `export "
                f"{privacy.key_env}=$(python -c 'import secrets; print(secrets.token_hex(32))')`",
            )
        return value.encode("utf-8")
    if privacy.key_secret:
        return _secret_manager_key(privacy.key_secret)
    raise InputError(
        f"privacy is on (e-mail and phone are keyed-hashed) but ${privacy.key_env} is not set",
        f"set {privacy.key_env} to a long random secret kept outside the repository (the same "
        "key for every run, or identities split), or set privacy.key_secret for Dataflow, or "
        "turn hashing off with `privacy: {enabled: false}`",
    )


def _hmac(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 of the parts joined by \x1f, as hex. A copy of an HMAC already keyed
    saves hashing the key again for every identifier (2.2 -> 1.5 us a call)."""
    digest = _keyed(key).copy()
    digest.update("\x1f".join(parts).encode("utf-8"))
    return digest.hexdigest()


@lru_cache(maxsize=4)
def _keyed(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)


class IdentifierHasher:
    """Replaces normalised values of the configured types by their keyed hash."""

    def __init__(self, key: bytes, types: Iterable[str]) -> None:
        self._key = key
        self.types = frozenset(types)

    def __repr__(self) -> str:  # never show the key
        return f"IdentifierHasher(types={sorted(self.types)})"

    def __reduce__(self) -> tuple:  # never pickle the key into a job graph
        raise TypeError("IdentifierHasher holds the hash key and must not be pickled")

    def value(self, id_type: str, value: str) -> str:
        """The stored form of a normalised identifier (hashed if its type is configured)."""
        if id_type not in self.types:
            return value
        return HASH_PREFIX + _hmac(self._key, id_type, value)[:32]

    def suppression(self, id_type: str, stored_value: str) -> str:
        """The suppression hash of an identifier in its stored form."""
        return _hmac(self._key, "suppress", id_type, stored_value)

    def redact(self, text: str) -> str:
        """Text fit to keep: e-mail addresses hashed, phone numbers masked (in JSON, every
        value under a phone-like key; in any text, numbers written with a leading +)."""
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError:
            document = None
        if isinstance(document, dict | list):
            text = orjson.dumps(self._redact_json(document)).decode()
        return self._redact_text(text)

    def redact_own_json(self, text: str) -> str:
        """``redact(text)`` for text that orjson itself wrote (so parsing and writing it again
        gives it back unchanged): the same result, without the parse, the walk or the scans
        that cannot match. The hot path of the row contract (every event's properties)."""
        if _may_name_a_phone(text):  # a phone-like key may be in there: the full walk
            return self.redact(text)
        return self._redact_text(text)

    def _redact_text(self, text: str) -> str:
        """Every e-mail address in ``text`` (``_EMAIL_TEXT``) replaced by its stored form, then
        every international number (``_PHONE_TEXT``) masked."""
        spans = email_spans(text)
        if spans:
            parts: list[str] = []
            last = 0
            for start, end in spans:
                parts += (text[last:start], self.value("email", text[start:end].strip().lower()))
                last = end
            parts.append(text[last:])
            text = "".join(parts)
        return _PHONE_TEXT.sub("[phone]", text) if "+" in text else text

    def redact_own_json_column(self, texts: pa.Array) -> pa.Array:
        """``redact_own_json`` of many texts (null stays null): Arrow finds the few that
        could change, and only those are redacted one by one (most events' properties
        hold no e-mail, phone or phone-like key)."""
        changing = np.flatnonzero(~_unchanged_by_redaction(texts)).tolist()
        if not changing:
            return texts
        values = texts.to_pylist()
        for i in changing:
            values[i] = self.redact_own_json(values[i])
        return pa.array(values, pa.string())

    def _redact_json(self, node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: self._redact_json(v, str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [self._redact_json(v, key) for v in node]
        if _PHONE_KEY.search(key) and node not in (None, ""):
            return "[phone]"
        return node


def email_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) of every ``_EMAIL_TEXT`` match in ``text``, as ``finditer`` gives them,
    in linear time.

    The regex itself tries every start inside a run of address characters and scans the
    rest of the run from each, so a long run with no address in it (a garbage line in
    quarantine) costs time in the square of its length: 64 KB took about 20 s. A match's local
    part always ends at an "@" that closes a run, so only those runs are tried, once each,
    from the later of the run's start and the end of the previous match (where ``finditer``
    resumes). ``tests/privacy/test_privacy.py`` holds the two equal on random text.
    """
    spans: list[tuple[int, int]] = []
    if "@" not in text:
        return spans
    resume = 0
    for run in _EMAIL_RUN.finditer(text):
        start, end = run.span()
        start = max(start, resume)
        if start >= end or not text.startswith("@", end):
            continue
        domain = _EMAIL_DOMAIN.match(text, end + 1)
        if domain is not None:
            spans.append((start, domain.end()))
            resume = domain.end()
    return spans


def _unchanged_by_redaction(texts: pa.Array) -> np.ndarray:
    """Which of many texts ``redact_own_json`` returns as they are: ASCII text with no
    phone-like word (``_may_name_a_phone``), no "@" and no "+". Null counts as unchanged."""
    ascii_only = pc.string_is_ascii(texts)
    suspect = pc.match_substring_regex(texts, _MAY_CHANGE, ignore_case=True)
    unchanged = pc.and_kleene(ascii_only, pc.invert(suspect)).fill_null(True)
    return np.asarray(unchanged.to_numpy(zero_copy_only=False), dtype=bool)


def _may_name_a_phone(text: str) -> bool:
    """``_PHONE_KEY.search(text)``, with plain substring tests for ASCII text (where ignoring
    case is just lower-casing): the regular expression costs more than the rest of the path."""
    if not text.isascii():
        return _PHONE_KEY.search(text) is not None
    low = text.lower()
    return "phone" in low or "mobile" in low or "fax" in low or "tel" in low


def hasher_for(privacy: PrivacyConfig) -> IdentifierHasher | None:
    """The hasher a run uses, or None when privacy is off and nobody is suppressed."""
    if not privacy.hashed_types and not privacy.suppressed:
        return None
    return IdentifierHasher(hash_key(privacy), privacy.hashed_types)


def key_fingerprint(privacy: PrivacyConfig) -> str:
    """A non-reversible fingerprint of the key in use ("off" without hashing): stored in the
    lake state so that a changed key forces a rebuild instead of splitting identities."""
    if not privacy.hashed_types:
        return "off"
    return _hmac(hash_key(privacy), "journeyline key fingerprint")[:16]


def redact_quarantine(table: pa.Table, hasher: IdentifierHasher | None) -> pa.Table:
    """Quarantine rows fit to leave the pipeline: raw text and reason redacted, and the raw
    text of a suppressed (forgotten) person's event blanked (``hasher``: the run's,
    ``hasher_for``; None when privacy is off and nobody is suppressed)."""
    if hasher is None or table.num_rows == 0:
        return table
    suppressed = pc.equal(table.column("reason_code"), "suppressed").to_pylist()
    raw = [
        SUPPRESSED_RAW if gone else hasher.redact(text)
        for text, gone in zip(table.column("raw").to_pylist(), suppressed, strict=True)
    ]
    reason = [hasher.redact(text) for text in table.column("reason").to_pylist()]
    table = table.set_column(table.schema.get_field_index("raw"), "raw", pa.array(raw))
    return table.set_column(table.schema.get_field_index("reason"), "reason", pa.array(reason))
