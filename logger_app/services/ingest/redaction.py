"""Privacy before storage: redact secrets, hash identifiers, optionally scrub free text.

Applied to payload, metrics and extra of every log on ingest, so a secret a workflow logs by
mistake never reaches the database (and so never a backup, an export or a screen)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

REDACTED = "[REDACTED]"
HASHED_RE = re.compile(r"hmac-sha256:[0-9a-f]{64}")  # what keyed_hash() writes
# Matched against the whole normalised name (exact or suffix): "session_id", "user_ssn", "Set-Cookie".
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CARD_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# RFC 6750 bearer credentials ("Bearer" is case-insensitive in HTTP); the scheme word is kept.
BEARER_RE = re.compile(r"\b(bearer)\s+[A-Za-z0-9._~+/-]+=*", re.IGNORECASE)
# Our own API keys (services/keys.new_key: "lk_" + 43 URL-safe characters). 20+ characters so the
# 12-character prefix that key lists show (not a secret) stays readable.
OUR_KEY_RE = re.compile(r"(?<![A-Za-z0-9])lk_[A-Za-z0-9_-]{20,}")
# AWS access key ids: AKIA (long-term) or ASIA (temporary) + 16 uppercase letters or digits.
AWS_KEY_RE = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")

# The allow rule for "token": a name whose token part is a count ("tokens", "token_count",
# "prompt_tokens", "max_tokens", "tokens_used") is a usage metric, not a credential. Its words
# (split at separators and camelCase) must be "token"/"tokens" plus only these; a singular
# "token" also needs a count word, so "prompt_token" or "id_token" (a JWT) stay redacted.
_TOKEN_WORDS = frozenset({"token", "tokens"})
_COUNT_WORDS = frozenset({"count", "counts", "num", "number", "n", "total", "used", "usage", "max", "min",
                          "limit", "remaining", "sum", "avg", "mean"})
_COUNT_QUALIFIERS = _COUNT_WORDS | {"prompt", "completion", "completions", "input", "output", "cached",
                                    "reasoning", "audio", "per", "second", "sec", "minute", "estimated"}
_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def is_token_count(key: str) -> bool:
    """True for a name whose only secret-looking part is a token count (see _COUNT_WORDS)."""
    words = [w.lower() for w in _WORD_RE.findall(key)]
    others = [w for w in words if w not in _TOKEN_WORDS]
    if len(others) == len(words) or not all(w in _COUNT_QUALIFIERS for w in others):
        return False
    return "tokens" in words or any(w in _COUNT_WORDS for w in others)


def _is_count_value(value: Any) -> bool:
    # A count is a number (or missing); a dict is walked like any other. Text or a list under a
    # counter's name is more likely a credential, so it is redacted.
    return value is None or type(value) in (int, float, bool) or isinstance(value, dict)


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _scrub_cards(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[CARD]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


# _COUNT: a token counter, kept when its value is a count (_is_count_value), else redacted.
_KEEP, _REDACT, _HASH, _COUNT = 0, 1, 2, 3


class Redactor:
    def __init__(self, redact_keys: list[str], hash_keys: list[str], secret: str, patterns: bool,
                 redact_parts: Sequence[str] = ()):
        # A key matches redact_keys when its normalised form equals or ends with a listed one
        # ("access_token" and "X-Api-Key" are caught, "cookie_count" is not), and redact_parts when
        # it contains one anywhere (then "tokens" as a usage count is the allowed exception).
        self.redact = tuple(_norm(k) for k in redact_keys if k.strip())
        self.parts = tuple(p for p in (_norm(k) for k in redact_parts) if p)
        self.hash = {_norm(k) for k in hash_keys if k.strip()}
        self.secret = secret.encode()
        self.patterns = patterns
        # Logs repeat the same few hundred keys; classifying each once took the redaction pass
        # from ~800 to ~180 µs per log (it was a fifth of the ingest profile).
        self._kinds: dict[str, int] = {}
        self._keep: set[str] = set()  # keys classified _KEEP, for _untouched's set check

    def _classify(self, key: str) -> int:
        n = _norm(key)
        if not n:
            return _KEEP
        if n.endswith(self.redact):  # configured names win, counters included
            return _REDACT
        found = [p for p in self.parts if p in n]
        if found:
            return _COUNT if all(p == "token" for p in found) and is_token_count(key) else _REDACT
        return _HASH if n in self.hash else _KEEP

    def _kind(self, key: str) -> int:
        kind = self._kinds.get(key)
        if kind is None:
            kind = self._classify(key)
            if len(self._kinds) >= 10_000:  # random keys must not grow memory without bound
                self._kinds.clear()
            self._kinds[key] = kind
        return kind

    def keyed_hash(self, value: Any) -> str:
        canonical = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        return "hmac-sha256:" + hmac.new(self.secret, canonical.encode(), hashlib.sha256).hexdigest()

    def _text(self, value: str) -> str:
        if not self.patterns:
            return value
        # Credentials first, so the e-mail and card patterns never see half of a key.
        value = BEARER_RE.sub(r"\1 [TOKEN]", value)
        if "lk_" in value:
            value = OUR_KEY_RE.sub("[API_KEY]", value)
        if "AKIA" in value or "ASIA" in value:
            value = AWS_KEY_RE.sub("[AWS_KEY]", value)
        if "@" in value:
            value = EMAIL_RE.sub("[EMAIL]", value)
        return CARD_RE.sub(_scrub_cards, value)

    def _untouched(self, value: Any) -> bool:
        """True when clean() would return an equal tree: no key to redact or hash anywhere and no
        text patterns to scrub. Most logs: then the tree is kept instead of rebuilt."""
        if self.patterns:
            return False
        keep = self._keep
        stack = [value]
        while stack:
            node = stack.pop()
            if type(node) is dict:
                # The key names of one dict checked in C against the ones already known harmless.
                if not keep.issuperset(node):
                    for key, child in node.items():
                        kind = self._kind(key)
                        if kind == _COUNT:  # never in `keep`: whether it stays depends on the value
                            if not _is_count_value(child):
                                return False
                            continue
                        if kind != _KEEP:
                            return False
                        if len(keep) < 10_000:
                            keep.add(key)
                children: Iterable[Any] = node.values()
            elif type(node) is list:
                children = node
            elif isinstance(node, (dict, list)):
                return False  # a subclass: let clean() decide
            else:
                continue
            for child in children:
                t = type(child)
                if t is dict or t is list:
                    stack.append(child)
                elif t is not str and t is not int and t is not float and t is not bool and child is not None:
                    if isinstance(child, (dict, list)):
                        stack.append(child)
        return True

    def clean(self, value: Any, depth: int = 0) -> Any:
        if depth == 0 and self._untouched(value):
            return value
        if isinstance(value, dict):
            out = {}
            for key, child in value.items():
                kind = self._kind(key)
                if kind == _REDACT or (kind == _COUNT and not _is_count_value(child)):
                    out[key] = REDACTED
                elif kind == _HASH and child is not None:
                    # Our own hash stays as it is: a stored log rebuilt through this pipeline again
                    # (an OTLP trace that gains spans, services/otlp) must not be hashed twice.
                    out[key] = child if isinstance(child, str) and HASHED_RE.fullmatch(child) else self.keyed_hash(child)
                else:
                    out[key] = self.clean(child, depth + 1)
            return out
        if isinstance(value, list):
            return [self.clean(v, depth + 1) for v in value]
        if isinstance(value, str):
            return self._text(value)
        return value

    def apply(self, row: dict[str, Any]) -> dict[str, Any]:
        for field in ("payload", "metrics", "extra"):
            if row.get(field) is not None:
                row[field] = self.clean(row[field])
        # The numeric copies of metrics.confidence / metrics.iterations must not outlive a
        # redaction or hashing of those keys.
        for column in ("confidence", "iterations"):
            if row.get(column) is not None and self._kind(column) != _KEEP:
                row[column] = None
        return row
