"""The row contract for canonical JSON lines, columnar: the benchmark path.

``RowContract`` checks one dict at a time and is the definition of the contract.
Reading a million canonical lines through it costs a minute of Python, so this
module accepts the common case in bulk: it proves a record clean with a few
cheap checks per field, parses timestamps with one Arrow cast per batch and
builds the Arrow table from columns. Any record it cannot prove clean — a
missing or derived id, a number where text belongs, an odd timestamp, a
rejection of any kind — goes to ``RowContract`` unchanged, so accepted rows,
rejections and their reasons are exactly those of the per-row contract
(``tests/transforms/test_fast_contract.py`` proves it on generated and random data).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeyline.schema import AMOUNT, EVENT_SCHEMA, IDENTIFIERS, SURVEY_RANGES, TIMESTAMP
from transforms.contract import RowContract, properties_bytes, to_micros
from transforms.identifiers import MAX_IDENTIFIER_CHARS, normalise_email, normalise_phone

_MAX_TEXT = 1024
_TEXT_FIELDS = ("account_id", "channel", "campaign_id", "message_theme", "currency")
# Every field the columnar contract reads, in the order ``_fields`` returns them.
_FIELDS = (
    "event_id",
    "source",
    "stream",
    "event_type",
    "survey_type",
    *_TEXT_FIELDS,
    "score",
    "occurred_at",
    "received_at",
    "identifiers",
    "amount",
    "properties",
)
# ISO-8601 with a zone, fields in range: the shapes Arrow's cast reads exactly as
# datetime.fromisoformat does (an impossible day such as 02-30 is caught when casting).
_ISO_ZONED = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
_CENT = Decimal("0.01")
_ID_CACHE = 500_000  # identifiers remembered per reader before the memo starts over
_AMOUNT_LIMIT = Decimal("1e16")


def _amount(value: Any) -> Decimal | None:
    """RowContract's amount for a clean value, None when RowContract would reject it."""
    if type(value) not in (int, float, str):
        return None
    try:
        amount = Decimal(str(value)).quantize(_CENT)
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or abs(amount) >= _AMOUNT_LIMIT:
        return None
    return amount


def _clean_text(value: Any) -> tuple[bool, str | None]:
    """(provably clean, value): text already trimmed and short, or nothing at all."""
    if value is None or value == "":
        return True, None
    if type(value) is str and value.strip() is value and len(value) <= _MAX_TEXT:
        return True, value
    return False, None


def text_column(values: Sequence[Any]) -> tuple[pa.Array, np.ndarray]:
    """A text field of many records at once: (values with "" as null, provably-clean mask).

    Mirrors ``_clean_text``: None or "" is nothing; other text must already be trimmed and
    at most 1,024 characters; anything else (numbers, lists, untrimmed text) is not clean.
    """
    # Arrow takes only text and None here (and bytes, which parsed JSON never holds): a
    # number, boolean, list or object raises, and the column is checked value by value.
    try:
        arr = pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pairs = [_clean_text(v) for v in values]
        mask = np.fromiter((ok for ok, _ in pairs), bool, len(pairs))
        return pa.array([v if ok else None for ok, v in pairs], pa.string()), mask
    empty = pc.equal(arr, "")
    clean = pc.or_kleene(
        pc.is_null(arr),
        pc.or_kleene(
            empty,
            # Arrow trims exactly what str.strip() trims (every character with isspace(),
            # proved in the tests), so "unchanged by trimming" is strip()'s own test.
            pc.and_(
                pc.equal(pc.utf8_trim_whitespace(arr), arr),
                pc.less_equal(pc.utf8_length(arr), _MAX_TEXT),
            ),
        ),
    )
    mask = np.asarray(clean.fill_null(True).to_numpy(zero_copy_only=False), dtype=bool)
    return pc.if_else(empty.fill_null(False), pa.scalar(None, pa.string()), arr), mask


def number_column(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A numeric field: (float values, present, provably-clean) — ints and finite floats only."""
    n = len(values)
    kinds = set(map(type, values))
    if kinds <= {int, float, type(None)}:
        present = np.fromiter((v is not None for v in values), bool, n)
        out = np.array([v if v is not None else 0.0 for v in values], dtype=np.float64)
        return out, present, ~present | np.isfinite(out)
    present = np.zeros(n, bool)
    clean = np.ones(n, bool)
    out = np.zeros(n, np.float64)
    for i, v in enumerate(values):
        if v is None or v == "":
            continue
        if type(v) in (int, float) and math.isfinite(v):
            out[i], present[i] = float(v), True
        else:
            clean[i] = False
    return out, present, clean


def _fields(objects: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """``_FIELDS`` of many records as columns: field → the field's value (or None) per record.

    One pass that reads every field of a record while it is at hand, then one transpose:
    freshly parsed records lie far apart in memory, and a pass per field (visiting every
    record again for each) costs about twice as much.
    """
    rows = [tuple(map(record.get, _FIELDS)) for record in objects]
    return dict(zip(_FIELDS, zip(*rows, strict=True), strict=True))


@dataclass
class FastResult:
    """Records proven clean (as a table) and the positions of the others (for RowContract)."""

    table: pa.Table | None
    accepted: list[int]
    fallback: list[int]
    identifiers_dropped: int


class FastCanonical:
    """Columnar acceptance of canonical records from one configured source."""

    def __init__(self, contract: RowContract) -> None:
        self.contract = contract
        self.source = contract.source
        self.pairs = {(s, t) for s, types in contract.vocab.items() for t in types}
        self.tolerance_us = int(contract.tolerance.total_seconds() * 1_000_000)
        self.earliest_us = to_micros(contract.earliest)
        rules = contract.identifiers
        self.hasher = contract.hasher
        self.suppressed = contract.suppressed if contract.hasher is not None else frozenset()
        self.types, self.region = rules.types, rules.region
        self.blocked, self.patterns = rules.blocked, rules.patterns
        # The same device ids and e-mails recur across thousands of events: remember them.
        self._seen: dict[tuple[str, Any], tuple[str | None, bool]] = {}

    def _identifier(self, id_type: str, raw: Any) -> tuple[str | None, bool]:
        """(normalised value or None, blocked?) — IdentifierRules.normalise for one value."""
        key = (id_type, raw) if type(raw) in (str, int) else None
        if key is not None:
            hit = self._seen.get(key)
            if hit is not None:
                return hit
        result = self._normalise(id_type, raw)
        if key is not None:
            if len(self._seen) >= _ID_CACHE:
                self._seen.clear()
            self._seen[key] = result
        return result

    def _normalise(self, id_type: str, raw: Any) -> tuple[str | None, bool]:
        if id_type not in self.types or isinstance(raw, bool) or not isinstance(raw, str | int):
            return None, False
        text = str(raw).strip()
        if not text or len(text) > MAX_IDENTIFIER_CHARS:
            return None, False
        if id_type == "email":
            value = normalise_email(text)
        elif id_type == "phone":
            value = normalise_phone(text, self.region)
        else:
            value = text
        if value is None:
            return None, False
        if value.lower() in self.blocked[id_type] or any(
            p.search(value) for p in self.patterns[id_type]
        ):
            return None, True
        return (self.hasher.value(id_type, value) if self.hasher else value), False

    def _redacted(self, properties: pa.Array) -> pa.Array:
        """``RowContract.properties_text``'s redaction, for a column of properties."""
        return properties if self.hasher is None else self.hasher.redact_own_json_column(properties)

    def accept(self, records: list[Any], received_fallback: datetime) -> FastResult:
        """Split ``records`` into clean ones (built as a table) and ones for RowContract."""
        positions = [i for i, obj in enumerate(records) if type(obj) is dict]
        objects = [records[i] for i in positions]
        n = len(objects)
        if not n:
            return FastResult(None, [], list(range(len(records))), 0)

        column = _fields(objects)
        ok = np.ones(n, bool)
        text: dict[str, pa.Array] = {}
        for field in ("event_id", "source", "stream", "event_type", "survey_type", *_TEXT_FIELDS):
            text[field], clean = text_column(column[field])
            ok &= clean
        ok &= pc.is_valid(text["event_id"]).to_numpy(zero_copy_only=False)
        stream = text["stream"]
        if self.source.stream is not None:
            stream = stream.fill_null(self.source.stream)
        known = pc.is_in(
            pc.binary_join_element_wise(stream, text["event_type"], "\x1f"),
            value_set=pa.array([f"{s}\x1f{t}" for s, t in sorted(self.pairs)]),
        )
        ok &= known.fill_null(False).to_numpy(zero_copy_only=False)
        source = text["source"].fill_null(self.source.name)

        scores, scored, clean = number_column(column["score"])
        ok &= clean
        survey = pc.utf8_lower(text["survey_type"])
        has_survey = pc.is_valid(survey).to_numpy(zero_copy_only=False)
        low = np.zeros(n)
        high = np.zeros(n)
        for kind, (lo, hi) in SURVEY_RANGES.items():
            is_kind = pc.equal(survey, kind).fill_null(False).to_numpy(zero_copy_only=False)
            low[is_kind], high[is_kind] = lo, hi
        known_survey = pc.is_in(survey, value_set=pa.array(list(SURVEY_RANGES))).fill_null(False)
        ok &= ~has_survey | (
            known_survey.to_numpy(zero_copy_only=False)
            & scored
            & (scores >= low)
            & (scores <= high)
        )

        occurred_raw = column["occurred_at"]
        received_raw = column["received_at"]
        # Times are text (received_at may be missing). When the types alone say every value
        # passes (the common batch), the row-by-row test is skipped.
        if not set(map(type, occurred_raw)) <= {str}:
            ok &= np.fromiter((type(v) is str for v in occurred_raw), bool, n)
        if not set(map(type, received_raw)) <= {str, type(None)}:
            ok &= np.fromiter(
                (v is None or v == "" or type(v) is str for v in received_raw), bool, n
            )

        keep: list[int] = []
        row_dropped: list[int] = []
        amounts: list[Decimal | None] = []
        properties: list[bytes | None] = []
        id_offsets = [0]
        id_keys: list[str] = []
        id_values: list[str] = []
        all_ids = column["identifiers"]
        all_amounts = column["amount"]
        all_props = column["properties"]
        identifier = self._identifier
        hasher, suppressed = self.hasher, self.suppressed
        # Per record, in order: the checks that need Python, then the record's identifiers
        # straight into id_keys / id_values (taken back out if the record falls back).
        for j in np.flatnonzero(ok).tolist():
            raw_ids = all_ids[j]
            if type(raw_ids) is not dict or not raw_ids:
                continue
            amount = all_amounts[j]
            if amount is not None and amount != "":
                amount = _amount(amount)
                if amount is None:
                    continue
            else:
                amount = None
            props = all_props[j]
            if props is not None and type(props) is not dict:
                continue
            first = len(id_keys)
            for id_type in sorted(raw_ids):
                value = identifier(id_type, raw_ids[id_type])[0]
                if value is not None:
                    id_keys.append(id_type)
                    id_values.append(value)
            kept = len(id_keys) - first
            if not kept or (
                suppressed
                and any(
                    hasher.suppression(t, v) in suppressed
                    for t, v in zip(id_keys[first:], id_values[first:], strict=True)
                )
            ):
                del id_keys[first:], id_values[first:]
                continue  # RowContract says why (no identifier left, or a forgotten person)
            keep.append(j)
            row_dropped.append(len(raw_ids) - kept)
            amounts.append(amount)
            properties.append(properties_bytes(props))  # redacted below, all at once
            id_offsets.append(len(id_keys))
        accepted = [positions[j] for j in keep]
        taken = np.zeros(len(records), bool)
        taken[np.asarray(accepted, np.intp)] = True
        fallback = np.flatnonzero(~taken).tolist()  # every other position, in order
        if not keep:
            return FastResult(None, [], fallback, 0)
        rows = pa.array(keep, pa.int64())
        cols: dict[str, Any] = {
            "event_id": text["event_id"].take(rows),
            "source": source.take(rows),
            "stream": stream.take(rows),
            "event_type": text["event_type"].take(rows),
            "survey_type": survey.take(rows),
            "score": pa.array(
                np.where(scored, scores, np.nan)[keep], pa.float64(), mask=~scored[keep]
            ),
            "amount": pa.array(amounts, AMOUNT),
            "properties": self._redacted(pa.array(properties, pa.binary()).cast(pa.string())),
        }
        for field in _TEXT_FIELDS:
            cols[field] = text[field].take(rows)
        return self._finish(
            cols,
            [occurred_raw[j] for j in keep],
            [received_raw[j] or None for j in keep],
            id_offsets,
            id_keys,
            id_values,
            accepted,
            fallback,
            row_dropped,
            received_fallback,
        )

    def _finish(
        self,
        cols: dict[str, list[Any]],
        occurred_raw: list[str],
        received_raw: list[str | None],
        id_offsets: list[int],
        id_keys: list[str],
        id_values: list[str],
        keep: list[int],
        fallback: list[int],
        row_dropped: list[int],
        received_fallback: datetime,
    ) -> FastResult:
        """Parse the timestamps in bulk; rows whose time is odd or out of bounds fall back."""
        occurred = pa.array(occurred_raw, pa.string())
        received = pa.array(received_raw, pa.string())
        shaped = pc.and_kleene(
            pc.match_substring_regex(occurred, _ISO_ZONED),
            pc.or_kleene(pc.is_null(received), pc.match_substring_regex(received, _ISO_ZONED)),
        )
        good = np.asarray(shaped.to_numpy(zero_copy_only=False), dtype=bool)
        fallback_us = to_micros(received_fallback)
        occurred_us = np.zeros(len(keep), np.int64)
        received_us = np.full(len(keep), fallback_us, np.int64)
        good &= _castable(occurred, good) & _castable(received, good)
        if good.any():
            idx = pa.array(np.flatnonzero(good))
            occurred_us[good] = occurred.take(idx).cast(TIMESTAMP).cast(pa.int64()).to_numpy()
            rec = received.take(idx).cast(TIMESTAMP).cast(pa.int64()).fill_null(fallback_us)
            received_us[good] = rec.to_numpy()
        good &= occurred_us <= received_us + self.tolerance_us
        good &= occurred_us >= self.earliest_us
        if not good.all():
            fallback = sorted(fallback + [keep[j] for j in np.flatnonzero(~good)])
        if not good.any():
            return FastResult(None, [], fallback, 0)
        rows = pa.array(np.flatnonzero(good))
        columns: dict[str, Any] = dict(cols)
        columns["occurred_at"] = pa.array(occurred_us, pa.int64()).cast(TIMESTAMP)
        columns["received_at"] = pa.array(received_us, pa.int64()).cast(TIMESTAMP)
        columns["identifiers"] = pa.MapArray.from_arrays(
            pa.array(id_offsets, pa.int32()),
            pa.array(id_keys, pa.string()),
            pa.array(id_values, pa.string()),
        ).cast(IDENTIFIERS)
        columns["input_source"] = [self.source.name] * len(keep)
        columns["record_hash"] = [0] * len(keep)  # the caller fills it from the raw lines
        columns["input_file"] = [None] * len(keep)  # and this from the file it read
        arrays = [
            value if isinstance((value := columns[f.name]), pa.Array) else pa.array(value, f.type)
            for f in EVENT_SCHEMA
        ]
        table = pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA).take(rows)
        accepted = [keep[j] for j in np.flatnonzero(good)]
        dropped = int(np.asarray(row_dropped, np.int64)[good].sum())
        return FastResult(table, accepted, fallback, dropped)


def _castable(strings: pa.Array, candidates: np.ndarray) -> np.ndarray:
    """Which strings Arrow can cast to a timestamp (the rare impossible day is found row by row)."""
    idx = pa.array(np.flatnonzero(candidates))
    try:
        strings.take(idx).cast(TIMESTAMP)
        return np.ones(len(strings), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = np.ones(len(strings), dtype=bool)
        for j in np.flatnonzero(candidates):
            value = strings[int(j)].as_py()
            if value is None:
                continue
            try:
                pa.array([value]).cast(TIMESTAMP)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                ok[j] = False
        return ok
