"""Suite-wide settings: a clearly marked test hash key (privacy is on by default)."""

from __future__ import annotations

import os

# Keyed hashing of e-mail and phone needs a key from the environment (SPEC §10). Tests use
# this fixed, clearly fake one; production keys never live in a repository.
TEST_HASH_KEY = "TEST-ONLY-hash-key-not-a-secret-0123456789"
os.environ.setdefault("JOURNEYLINE_HASH_KEY", TEST_HASH_KEY)
