"""`journeyline forget`: erase one person everywhere and keep them out (GDPR art. 17).

1. Find the person in the published identity state: by e-mail (normalised, then
   keyed-hashed exactly as the pipeline stores it) or by customer id.
2. Record a suppression: the keyed hash of every identifier they had
   (journeyline/suppressions.py). From now on the row contract quarantines any
   event carrying one of them as ``suppressed``, raw text blanked, and counted,
   so reconciliation stays exact.
3. Rebase the lake without them: a new attempt whose timeline, identity state
   (map, graph, conflicts, merges) and quarantine no longer hold the person,
   built by the batch job, checked by the gates and published like any run —
   the warehouse tables are replaced, CURRENT moves, and older attempts that
   still hold the person are deleted.

The e-mail address is never printed or logged; the summary names counts only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from journeyline import state
from journeyline.config import Config
from journeyline.errors import InputError
from journeyline.lake import Lake
from journeyline.privacy import IdentifierHasher, hash_key
from journeyline.progress import Progress
from journeyline.run import RunResult, run_batch
from journeyline.suppressions import record_suppressions
from journeyline.windows import Plan
from transforms.identifiers import normalise_email
from transforms.retract import Retraction


@dataclass(frozen=True)
class ForgetResult:
    """What an erasure did (counts only: no identifier value)."""

    request_id: str
    customers: int
    identifiers: int
    run: RunResult | None


def _person(
    lake: Lake, attempt: str, email: str | None, customer_id: str | None, hasher: IdentifierHasher
) -> tuple[set[str], list[tuple[str, str]]]:
    """The person's customer ids and every (type, stored value) identifier they hold."""
    identity = f"{lake.table(attempt, 'identity_map')}/*.parquet"
    con = duckdb.connect()
    try:
        if email is not None:
            normalised = normalise_email(email)
            if normalised is None:
                raise InputError("--email is not an e-mail address", "pass the address as given")
            stored = hasher.value("email", normalised)
            rows = con.execute(
                "select distinct customer_id from read_parquet(?) "
                "where identifier_type = 'email' and identifier_value = ?",
                [identity, stored],
            ).fetchall()
            customers = {r[0] for r in rows}
            seed = [("email", stored)]
        else:
            customers = {str(customer_id)}
            seed = []
        pairs = con.execute(
            "select identifier_type, identifier_value from read_parquet(?) "
            "where list_contains(?::varchar[], customer_id) order by 1, 2",
            [identity, sorted(customers)],
        ).fetchall()
    finally:
        con.close()
    if customer_id is not None and not pairs:
        raise InputError(
            f"no published customer has the id {customer_id}",
            "check the id in the customers table (it starts with cus_)",
        )
    return customers if pairs else set(), sorted(set(seed) | {(t, v) for t, v in pairs})


def forget(
    config: Config,
    beam_args: list[str],
    progress: Progress,
    *,
    email: str | None = None,
    customer_id: str | None = None,
) -> ForgetResult:
    """Erase one person (by e-mail or customer id) and suppress them from now on."""
    if (email is None) == (customer_id is None):
        raise InputError("say who to forget", "pass exactly one of --email or --customer-id")
    lake = Lake.at(config.lake)
    base = state.load(lake)
    if base is None:
        raise InputError(
            f"nothing is published in the lake {lake.root} yet",
            "run `journeyline run` first (a suppression needs the published identity state)",
        )
    hasher = IdentifierHasher(hash_key(config.privacy), config.privacy.hashed_types)
    customers, identifiers = _person(lake, base.attempt, email, customer_id, hasher)
    hashes = [(t, hasher.suppression(t, v)) for t, v in identifiers]
    request_id = "forget_" + hashlib.sha256(repr(sorted(hashes)).encode()).hexdigest()[:12]
    record_suppressions(lake, request_id, hashes, datetime.now(UTC))
    progress.say(
        f"{request_id}: {len(hashes)} identifier(s) suppressed; "
        f"erasing {len(customers)} customer(s)"
    )
    if not customers:
        return ForgetResult(request_id, 0, len(hashes), None)
    plan = Plan(
        files=[],
        base=base,
        mode=f"erasure of {len(customers)} customer(s)",
        fingerprint_key=request_id,
        rebase=Retraction(
            customers=frozenset(customers), values=frozenset(v for _, v in identifiers)
        ),
        kept_ingested=base.ingested,
    )
    run = run_batch(config, beam_args, progress, plan=plan)
    return ForgetResult(request_id, len(customers), len(hashes), run)
