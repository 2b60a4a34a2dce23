"""Identifier normalisation and blocking (SPEC §4)."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from journeyline.config import default_config
from transforms import identifiers
from transforms.identifiers import (
    IdentifierRules,
    customer_id_for,
    node_id,
    node_ids,
    normalise_phone,
)


def rules() -> IdentifierRules:
    return IdentifierRules(default_config().identity)


def test_email_is_trimmed_and_lower_cased() -> None:
    result = rules().normalise({"email": "  Jane.Doe@Acme.COM "})
    assert result.values == (("email", "jane.doe@acme.com"),)
    assert result.dropped == 0


def test_phone_formats_become_one_e164_number() -> None:
    variants = ["+1 415-555-2671", "(415) 555-2671", "415.555.2671", "4155552671"]
    assert {normalise_phone(v, "US") for v in variants} == {"+14155552671"}
    assert normalise_phone("12", "US") is None


def test_invalid_and_blocked_values_are_dropped_and_counted() -> None:
    result = rules().normalise(
        {
            "email": "test@example.com",  # blocked by default
            "user_id": "00000000",  # all zeros
            "anonymous_id": "undefined",  # blocked everywhere
            "phone": "not a phone",  # invalid
            "lead_id": " L-1 ",
        }
    )
    assert result.values == (("lead_id", "L-1"),)
    assert (result.invalid, result.blocked) == (1, 3)


def test_unknown_identifier_types_and_non_text_values_are_invalid() -> None:
    result = rules().normalise(
        {"favourite_colour": "blue", "user_id": {"nested": 1}, "contact_id": 42}
    )
    assert result.values == (("contact_id", "42"),)
    assert result.invalid == 2


def test_ids_are_stable_and_distinguish_types() -> None:
    assert node_id("email", "a@b.co") == node_id("email", "a@b.co")
    assert node_id("email", "x") != node_id("user_id", "x")
    assert customer_id_for("email", "a@b.co").startswith("cus_")


def test_node_ids_in_bulk_are_node_id_of_each_identifier() -> None:
    types = ["email", "user_id", "email", "phone", "email", "user_id"]
    values = ["a@b.co", "a@b.co", "a@b.co", "+14155552671", "é@ü.example", "a@b.co"]
    bulk = node_ids(pa.array(types), pa.array(values)).tolist()
    assert bulk == [node_id(t, v) for t, v in zip(types, values, strict=True)]
    assert node_ids(pa.array([], pa.string()), pa.array([], pa.string())).tolist() == []


def _identifiers(count: int, seed: int) -> tuple[list[str], list[str]]:
    """Identifiers of every length up to three BLAKE2b blocks, ASCII and not."""
    rng = random.Random(seed)
    types = [rng.choice(["email", "phone", "", "crm_contact_id", "ü" * 70]) for _ in range(count)]
    values = [
        "".join(
            chr(rng.choice([rng.randrange(32, 127), rng.randrange(160, 0x3000)]))
            for _ in range(rng.randrange(0, 300) if i > 300 else i)
        )
        for i in range(count)
    ]
    return types, values


@pytest.mark.parametrize("built", [True, False], ids=["c-extension", "hashlib"])
def test_node_ids_in_c_and_without_it_equal_node_id_on_every_length_and_slice(
    built: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if built:
        assert identifiers._nodeids is not None, "the C extension is not built (setup.py)"
    else:
        monkeypatch.setattr(identifiers, "_nodeids", None)
    types, values = _identifiers(3_000, seed=7)
    expected = [node_id(t, v) for t, v in zip(types, values, strict=True)]
    assert node_ids(pa.array(types), pa.array(values)).tolist() == expected
    # arrays that start inside their buffers (the map column's keys and items are slices)
    sliced = node_ids(pa.array(types).slice(5, 1_000), pa.array(values).slice(5, 1_000))
    assert sliced.tolist() == expected[5:1_005]
