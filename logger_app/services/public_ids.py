"""Opaque public log ids: a keyed pseudo-random permutation of the 64-bit row ids.

Row ids come from one sequence shared by every client, so handing them out leaks volume: post two
logs and `id2 - id1 - 1` logs were stored by other clients in between. So outside the server a log
is named by `log_` + 16 lowercase hex digits of a keyed permutation of its row id. It reveals
nothing about order or neighbours, yet needs no table and no schema change: every process holding
the storage secret computes the same ids and maps them back without a lookup, and inside the server
the integer keeps doing its jobs (primary key, keyset order, indexes).

Public form, fixed: `log_` + 16 lowercase hex digits (20 characters; the 64-bit block in full, so
any 16 digits decode). Hex over base32: case-free, trivial to validate and to read out loud; one
spelling per id, so uppercase is refused rather than folded (a log has exactly one public id)."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from .errors import FieldProblem, ValidationFailed

PREFIX = "log_"
PATTERN = r"^log_[0-9a-f]{16}$"  # for the OpenAPI document; decode() checks with _SHAPE
_SHAPE = re.compile(r"log_[0-9a-f]{16}")  # fullmatch: `$` alone would accept a trailing newline
MAX_ROW_ID = 2**63 - 1  # BIGINT: a block that decodes above it (or to 0) names no row
_HALF = 0xFFFFFFFF
_BLOCK = 64  # SHA-256's block size, to which HMAC pads its key
# Luby-Rackoff: 3 rounds of a PRF make a pseudo-random permutation, 4 a *strong* one, which is what
# is needed here because callers can also choose inputs to the inverse (any 16 hex digits in a URL
# are decoded). With 32-bit halves those proofs only hold up to ~2^16 queries (the birthday bound
# of a half); Patarin showed that more rounds push the bound towards 2^32, with 6 rounds enough
# against adaptive chosen plaintext *and* ciphertext attacks. A round costs ~1 µs, so 6.
ROUNDS = 6
# Domain separation from the other users of the storage secret. The byte 0xFF never occurs in
# UTF-8, and the redactor's keyed hashes (HMAC-SHA256 under the same secret, shown to clients in
# their own logs) only ever MAC UTF-8 text: no logged value can make it print this key.
_LABEL = b"\xffcentral-logger public log id v1"


class PublicIds:
    """encode(row id) -> 'log_…'; decode('log_…') -> row id. Built by the Runtime from Settings."""

    def __init__(self, key: bytes):
        # A key per round, so the rounds are independent PRFs as the Luby-Rackoff proofs assume.
        # HMAC (RFC 2104) is H((k ^ opad) || H((k ^ ipad) || m)): the two padded-key states are
        # hashed once here and copied per call, ~0.7 µs a round where hmac.digest, which re-keys
        # every call, takes ~1.8 µs. Ids are encoded on every ingest and every listed row.
        self._pads = []
        for index in range(ROUNDS):
            round_key = hmac.digest(key, b"round %d" % index, "sha256").ljust(_BLOCK, b"\0")
            self._pads.append((hashlib.sha256(bytes(b ^ 0x36 for b in round_key)),
                               hashlib.sha256(bytes(b ^ 0x5C for b in round_key))))

    @classmethod
    def from_secret(cls, secret: str) -> PublicIds:
        return cls(hmac.digest(secret.encode(), _LABEL, "sha256"))

    def _f(self, index: int, half: int) -> int:
        """Round function: the first 32 bits of HMAC-SHA256(round key, half as 4 bytes)."""
        inner, outer = self._pads[index]
        inner, outer = inner.copy(), outer.copy()
        inner.update(half.to_bytes(4, "big"))
        outer.update(inner.digest())
        return int.from_bytes(outer.digest()[:4], "big")

    def encode(self, row_id: int) -> str:
        if type(row_id) is not int or not 0 <= row_id <= MAX_ROW_ID:
            raise ValueError("not a row id")  # a bug in the caller, never user input
        left, right = row_id >> 32, row_id & _HALF
        for index in range(ROUNDS):
            left, right = right, left ^ self._f(index, right)
        return f"{PREFIX}{left << 32 | right:016x}"

    def decode(self, text: Any, field: str = "log_id") -> int | None:
        """The row id behind a public id, or None when the id is well-formed but can name no row.

        Anything else (wrong prefix, length or alphabet, not a string) raises ValidationFailed
        naming `field`: the caller's 400, never a 500 or a database error."""
        if not isinstance(text, str) or not _SHAPE.fullmatch(text):
            raise ValidationFailed(f"{field} is not a log id",
                                   [FieldProblem(field, "not a log id (log_ and 16 lowercase hex digits)")])
        block = int(text[len(PREFIX):], 16)
        left, right = block >> 32, block & _HALF
        for index in reversed(range(ROUNDS)):
            left, right = right ^ self._f(index, left), left
        row_id = left << 32 | right
        return row_id if 1 <= row_id <= MAX_ROW_ID else None


def is_public_id(value: Any) -> bool:
    """Shape only (no key needed): for values that come back from a browser, e.g. a clicked row."""
    return isinstance(value, str) and _SHAPE.fullmatch(value) is not None
