"""The row contract for canonical JSON lines, columnar: the benchmark path.

``RowContract`` checks one dict at a time and is the definition of the contract.
Reading a million canonical lines through it costs a minute of Python, so this
module accepts the common case in bulk: Arrow converts a batch's text fields in one
call, the checks run on Arrow columns, timestamps are parsed with one cast, and
identifiers are normalised once per distinct value. Any record it cannot prove clean
— a field of the wrong type, a missing or derived id, an odd timestamp, a rejection
of any kind — goes to ``RowContract`` unchanged, so accepted rows, rejections and
their reasons are exactly those of the per-row contract
(``tests/transforms/test_fast_contract.py`` proves it on generated and random data).

The checks take their columns from either of two front ends: ``accept``, for records
orjson parsed (the text fields converted by Arrow), and ``accept_scanned``, for lines the
C scanner read straight into columns (``transforms/scan.py``); one core
(``_text_checks``, ``_accept``) serves both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from journeyline.schema import AMOUNT, EVENT_SCHEMA, IDENTIFIERS, SURVEY_RANGES, TIMESTAMP
from transforms.contract import RowContract, properties_bytes, to_micros
from transforms.identifiers import identifier_text
from transforms.scan import TEXT_FIELDS, Scanned

_MAX_TEXT = 1024
_TEXT_FIELDS = ("account_id", "channel", "campaign_id", "message_theme", "currency")
# The fields that hold text or nothing (``TEXT_FIELDS``), converted by Arrow (``text_struct``).
_STRUCT = pa.struct([(name, pa.string()) for name in TEXT_FIELDS])
# The fields read in Python: a number, an amount (number or text) and two objects.
_OTHERS = ("identifiers", "score", "amount", "properties")
_CONVERSION_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)
_CHUNK = 4096  # records per Arrow conversion: a record that fails costs its chunk's halving
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


def text_column(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """A text field of many records at once: (values with "" as null, provably-clean mask).

    None or "" is nothing; other text must already be trimmed and at most 1,024
    characters (``text_struct`` has let only text and nulls through).
    """
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


def text_struct(objects: Sequence[dict[str, Any]]) -> tuple[pa.StructArray, np.ndarray]:
    """The text fields of many records as one Arrow struct, and which records converted.

    Arrow builds a chunk of records in one call, far faster than reading the fields out
    in Python. A record with anything but text or null in one of these fields (a number,
    a list, an object) fails its chunk; the chunk is halved until that record stands
    alone, and it comes out as a null row marked unconverted (it falls back).
    """
    parts: list[pa.Array] = []
    converted = np.ones(len(objects), bool)
    for lo in range(0, len(objects), _CHUNK):
        _convert(objects, lo, min(lo + _CHUNK, len(objects)), parts, converted)
    return pa.concat_arrays(parts) if parts else pa.array([], _STRUCT), converted


def _convert(
    objects: Sequence[dict[str, Any]],
    lo: int,
    hi: int,
    parts: list[pa.Array],
    converted: np.ndarray,
) -> None:
    """``objects[lo:hi]`` into ``parts``, halving around records that fail.

    A function of its own, not a closure in ``text_struct``: a closure that calls itself
    is a reference cycle, and it would keep the batch's records alive until the cyclic
    collector finds them (about 2 s of collections at 1M lines)."""
    try:
        parts.append(pa.array(objects[lo:hi], _STRUCT))
    except _CONVERSION_ERRORS:
        if hi - lo == 1:
            parts.append(pa.nulls(1, _STRUCT))
            converted[lo] = False
            return
        mid = (lo + hi) // 2
        _convert(objects, lo, mid, parts, converted)
        _convert(objects, mid, hi, parts, converted)


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


def _fields(objects: list[dict[str, Any]], names: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """``names`` of many records as columns: field → the field's value (or None) per record.

    One pass that reads every field of a record while it is at hand, then one transpose:
    freshly parsed records lie far apart in memory, and a pass per field (visiting every
    record again for each) costs about twice as much.
    """
    rows = [tuple(map(record.get, names)) for record in objects]
    return dict(zip(names, zip(*rows, strict=True), strict=True))


@dataclass
class FastResult:
    """Records proven clean (as a table) and the positions of the others (for RowContract)."""

    table: pa.Table | None
    accepted: list[int]
    fallback: list[int]
    identifiers_dropped: int


@dataclass
class _Identifiers:
    """The identifiers of a batch's candidate records, normalised: the candidates that kept
    at least one and none forgotten, how many each kept, and the kept ones themselves."""

    usable: np.ndarray  # per record: kept one or more, none of them suppressed
    kept: np.ndarray  # per record: how many of its identifiers were kept
    rows: np.ndarray  # per kept identifier, in record order then type order: its record
    keys: pa.Array
    values: pa.Array


class FastCanonical:
    """Columnar acceptance of canonical records from one configured source."""

    def __init__(self, contract: RowContract) -> None:
        self.contract = contract
        self.source = contract.source
        self.pairs = {(s, t) for s, types in contract.vocab.items() for t in types}
        self.tolerance_us = int(contract.tolerance.total_seconds() * 1_000_000)
        self.earliest_us = to_micros(contract.earliest)
        self.rules = contract.identifiers
        self.hasher = contract.hasher
        self.suppressed = contract.suppressed if contract.hasher is not None else frozenset()
        # The same device ids and e-mails recur across thousands of events: remember them,
        # per type, text → the value kept ("" for one not kept).
        self._seen: dict[str, dict[str | None, str]] = {}

    @property
    def _seen_count(self) -> int:
        """How many identifiers the reader remembers, over every type."""
        return sum(map(len, self._seen.values()))

    def _kept_values(self, id_type: str, texts: list[str | None]) -> list[str]:
        """Identifiers of one type given as text (None: not text) through the per-row
        contract's own rule (``IdentifierRules.kept_value``): the value kept, or "" for
        one not kept. Remembered per reader: a known text costs a dict lookup in C."""
        if self._seen_count + len(texts) > _ID_CACHE:
            self._seen.clear()
        memo = self._seen.setdefault(id_type, {})
        found = list(map(memo.get, texts))
        for i in [i for i, value in enumerate(found) if value is None]:
            text = texts[i]
            value = (None if text is None else self.rules.kept_value(id_type, text)[0]) or ""
            found[i] = memo[text] = value
        return found

    def _identifiers(self, n: int, rows: np.ndarray, keys: pa.Array, raw: pa.Array) -> _Identifiers:
        """Normalise every identifier of the candidates (``rows``: each one's record; ``keys``
        its type, ``raw`` its value as text) once per distinct (type, raw value) pair, and
        keep them in each record's type order.

        Tens of thousands of events share a few thousand identifiers, so the Python that
        normalises (and, with privacy on, hashes) runs once per pair a reader meets; a pair
        met before costs a dict lookup that ``map`` makes in C (``_kept_values``).
        """
        types_arr = pc.dictionary_encode(keys)
        texts_arr = pc.dictionary_encode(raw)
        types = types_arr.dictionary.to_pylist()
        texts = [*texts_arr.dictionary.to_pylist(), None]  # a null value: past the end
        width = len(texts)
        codes = types_arr.indices.to_numpy().astype(np.int64) * width
        codes += texts_arr.indices.fill_null(width - 1).to_numpy()
        pairs, of_pair = np.unique(codes, return_inverse=True)
        # The pairs are sorted by type first: each type's pairs are one run of them.
        pair_type, pair_text = np.divmod(pairs, width)
        bounds = np.searchsorted(pair_type, np.arange(len(types) + 1)).tolist()
        values: list[str] = []
        for t, id_type in enumerate(types):
            run = pair_text[bounds[t] : bounds[t + 1]].tolist()
            values += self._kept_values(id_type, list(map(texts.__getitem__, run)))
        kept_values = pa.array(values, pa.string())
        kept_pair = pc.not_equal(kept_values, "").to_numpy(zero_copy_only=False)
        barred = np.zeros(len(pairs), bool)
        if self.suppressed:
            suppressed, hasher = self.suppressed, self.hasher
            for u in np.flatnonzero(kept_pair).tolist():
                id_type = types[pair_type[u]]
                barred[u] = hasher.suppression(id_type, values[u]) in suppressed
        kept = kept_pair[of_pair]
        per_record = np.bincount(rows[kept], minlength=n)
        forgotten = np.bincount(rows[kept & barred[of_pair]], minlength=n) > 0
        rank = np.empty(len(types), np.int64)
        rank[sorted(range(len(types)), key=types.__getitem__)] = np.arange(len(types))
        order = np.lexsort((rank[types_arr.indices.to_numpy()], rows))
        order = order[kept[order]]
        return _Identifiers(
            usable=(per_record > 0) & ~forgotten,
            kept=per_record,
            rows=rows[order],
            keys=types_arr.dictionary.take(types_arr.indices.take(pa.array(order))),
            values=kept_values.take(pa.array(of_pair[order])),
        )

    def _redacted(self, properties: pa.Array) -> pa.Array:
        """``RowContract.properties_text``'s redaction, for a column of properties."""
        return properties if self.hasher is None else self.hasher.redact_own_json_column(properties)

    def accept(self, records: list[Any], received_fallback: datetime) -> FastResult:
        """Split ``records`` (parsed JSON values) into clean ones (built as a table) and ones
        for RowContract (``accepted`` and ``fallback`` index ``records``)."""
        positions = [i for i, obj in enumerate(records) if type(obj) is dict]
        objects = [records[i] for i in positions]
        n = len(objects)
        if not n:
            return FastResult(None, [], list(range(len(records))), 0)

        strings, ok = text_struct(objects)
        text = {field: strings.field(field) for field in TEXT_FIELDS}
        column = _fields(objects, _OTHERS)
        scores, scored, clean = number_column(column["score"])
        ok &= clean
        ok &= self._text_checks(text, scores, scored)

        # Per candidate, the checks that need Python: identifiers an object with entries
        # (read out here, normalised below), a clean amount, properties an object or none.
        candidates = np.flatnonzero(ok)
        counts: list[int] = []
        id_keys: list[str] = []
        id_raw: list[Any] = []
        amounts: dict[int, Decimal] = {}
        all_ids, all_amounts, all_props = (
            column[f] for f in ("identifiers", "amount", "properties")
        )
        for j in candidates.tolist():
            raw_ids, props = all_ids[j], all_props[j]
            if (
                type(raw_ids) is not dict
                or not raw_ids
                or not (props is None or type(props) is dict)
            ):
                counts.append(0)
                continue
            amount = all_amounts[j]
            if amount is not None and amount != "":
                amount = _amount(amount)
                if amount is None:
                    counts.append(0)
                    continue
                amounts[j] = amount
            id_keys += raw_ids
            id_raw += raw_ids.values()
            counts.append(len(raw_ids))
        raw_count = np.zeros(n, np.int64)
        raw_count[candidates] = counts
        try:
            raw_arr = pa.array(id_raw, pa.string())
        except _CONVERSION_ERRORS:  # a number among them, or a value that is not text
            raw_arr = pa.array([identifier_text(v) for v in id_raw], pa.string())
        ids = self._identifiers(
            n, np.repeat(candidates, counts), pa.array(id_keys, pa.string()), raw_arr
        )

        def properties(keep: np.ndarray) -> pa.Array:
            return pa.array([properties_bytes(all_props[j]) for j in keep.tolist()], pa.binary())

        return self._accept(
            positions,
            len(records),
            text,
            ok & (raw_count > 0),
            scores,
            scored,
            raw_count,
            ids,
            amounts,
            properties,
            received_fallback,
        )

    def accept_scanned(self, scanned: Scanned, received_fallback: datetime) -> FastResult:
        """``accept`` for lines the C scanner read into columns (``transforms/scan.py``):
        the same checks on the same values, without a Python object per line.
        ``accepted`` and ``fallback`` index the scanned rows."""
        n = scanned.rows
        if not n:
            return FastResult(None, [], [], 0)
        text = dict(scanned.text)
        scores, scored = scanned.scores, scanned.scored
        ok = self._text_checks(text, scores, scored)

        # Amounts are rare: each is read as orjson reads it, then checked as above.
        amounts: dict[int, Decimal] = {}
        given = np.flatnonzero(ok & scanned.amounts.is_valid().to_numpy(zero_copy_only=False))
        tokens = scanned.amounts.take(pa.array(given)).to_pylist()
        for j, token, is_text in zip(
            given.tolist(), tokens, scanned.amount_is_text[given].tolist(), strict=True
        ):
            if token == "":
                continue  # "" is no amount
            amount = _amount(token if is_text else orjson.loads(token))
            if amount is None:
                ok[j] = False
            else:
                amounts[j] = amount
        raw_count = np.bincount(scanned.id_rows, minlength=n)
        mine = ok[scanned.id_rows]  # the identifiers of candidates only
        ids = self._identifiers(
            n,
            scanned.id_rows[mine].astype(np.int64),
            scanned.id_types.filter(pa.array(mine)),
            scanned.id_values.filter(pa.array(mine)),
        )

        def properties(keep: np.ndarray) -> pa.Array:
            return scanned.properties.take(pa.array(keep))

        return self._accept(
            range(n),
            n,
            text,
            ok,
            scores,
            scored,
            raw_count,
            ids,
            amounts,
            properties,
            received_fallback,
        )

    def _text_checks(
        self, text: dict[str, pa.Array], scores: np.ndarray, scored: np.ndarray
    ) -> np.ndarray:
        """Which records pass the checks on their text fields and score; ``text`` gets the
        values the table is built from (nulls for "", the source's defaults filled in)."""
        n = len(scores)
        ok = np.ones(n, bool)
        for field in ("event_id", "source", "stream", "event_type", "survey_type", *_TEXT_FIELDS):
            text[field], clean = text_column(text[field])
            ok &= clean
        ok &= pc.is_valid(text["event_id"]).to_numpy(zero_copy_only=False)
        stream = text["stream"]
        if self.source.stream is not None:
            text["stream"] = stream = stream.fill_null(self.source.stream)
        known = pc.is_in(
            pc.binary_join_element_wise(stream, text["event_type"], "\x1f"),
            value_set=pa.array([f"{s}\x1f{t}" for s, t in sorted(self.pairs)]),
        )
        ok &= known.fill_null(False).to_numpy(zero_copy_only=False)
        text["source"] = text["source"].fill_null(self.source.name)

        text["survey_type"] = survey = pc.utf8_lower(text["survey_type"])
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
        occurred = text["occurred_at"]  # required: a missing time falls back
        ok &= pc.is_valid(occurred).to_numpy(zero_copy_only=False)
        received = text["received_at"]  # "" is missing, as in RowContract
        text["received_at"] = pc.if_else(pc.equal(received, "").fill_null(False), None, received)
        return ok

    def _accept(
        self,
        positions: Sequence[int],
        total: int,
        text: dict[str, pa.Array],
        ok: np.ndarray,
        scores: np.ndarray,
        scored: np.ndarray,
        raw_count: np.ndarray,
        ids: _Identifiers,
        amounts: dict[int, Decimal],
        properties: Callable[[np.ndarray], pa.Array],
        received_fallback: datetime,
    ) -> FastResult:
        """The table of the records that passed every check (``positions``: each record's
        index among ``total`` inputs; every other input falls back)."""
        ok &= ids.usable  # RowContract says why not (no identifier left, a forgotten person)
        keep = np.flatnonzero(ok)
        accepted = [positions[j] for j in keep.tolist()]
        taken = np.zeros(total, bool)
        taken[np.asarray(accepted, np.intp)] = True
        fallback = np.flatnonzero(~taken).tolist()  # every other position, in order
        if not len(keep):
            return FastResult(None, [], fallback, 0)
        rows = pa.array(keep)
        in_kept = ok[ids.rows]
        offsets = np.zeros(len(keep) + 1, np.int32)
        np.cumsum(ids.kept[keep], out=offsets[1:])
        cols: dict[str, Any] = {
            "event_id": text["event_id"].take(rows),
            "source": text["source"].take(rows),
            "stream": text["stream"].take(rows),
            "event_type": text["event_type"].take(rows),
            "survey_type": text["survey_type"].take(rows),
            "score": pa.array(
                np.where(scored, scores, np.nan)[keep], pa.float64(), mask=~scored[keep]
            ),
            "amount": pa.array([amounts.get(j) for j in keep.tolist()], AMOUNT),
            "properties": self._redacted(properties(keep).cast(pa.string())),
            "identifiers": pa.MapArray.from_arrays(
                pa.array(offsets),
                ids.keys.filter(pa.array(in_kept)),
                ids.values.filter(pa.array(in_kept)),
            ).cast(IDENTIFIERS),
        }
        for field in _TEXT_FIELDS:
            cols[field] = text[field].take(rows)
        dropped = raw_count[keep] - ids.kept[keep]
        return self._finish(
            cols,
            text["occurred_at"].take(rows),
            text["received_at"].take(rows),
            accepted,
            fallback,
            dropped,
            received_fallback,
        )

    def _finish(
        self,
        cols: dict[str, pa.Array],
        occurred: pa.Array,
        received: pa.Array,
        keep: list[int],
        fallback: list[int],
        row_dropped: np.ndarray,
        received_fallback: datetime,
    ) -> FastResult:
        """Parse the timestamps in bulk; rows whose time is odd or out of bounds fall back."""
        shaped = pc.and_kleene(
            pc.match_substring_regex(occurred, _ISO_ZONED),
            pc.or_kleene(pc.is_null(received), pc.match_substring_regex(received, _ISO_ZONED)),
        )
        good = np.asarray(shaped.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
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
        columns["input_source"] = [self.source.name] * len(keep)
        columns["record_hash"] = [0] * len(keep)  # the caller fills it from the raw lines
        columns["input_file"] = [None] * len(keep)  # and this from the file it read
        arrays = [
            value if isinstance((value := columns[f.name]), pa.Array) else pa.array(value, f.type)
            for f in EVENT_SCHEMA
        ]
        table = pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA).take(rows)
        accepted = [keep[j] for j in np.flatnonzero(good)]
        return FastResult(table, accepted, fallback, int(row_dropped[good].sum()))


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
