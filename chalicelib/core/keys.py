"""Admin authentication (bearer keys, stored only as SHA-256 hashes, compared in constant time), and the salted
hash a client's IP address is known by.

A configured hash may carry the label of whoever holds the key ("ann:<digest>"), so that what a person does in
the dashboard is attributed to them; an unlabelled key acts as "admin".
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping

from chalicelib.core.errors import AdminAuthError

UNLABELLED = "admin"
_ENTRY = re.compile(r"^(?:([a-z0-9][a-z0-9._-]{0,31}):)?([0-9a-f]{64})$")


def hash_key(key: str) -> str:
    """The stored form of an admin key (hex SHA-256); keys are long random strings, so no salt is needed."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def client_hash(salt: str, ip: str) -> str:
    """The salted hash a client's IP address is stored and counted by (never the address itself)."""
    return hashlib.sha256(f"{salt}\0{ip}".encode()).hexdigest()[:32]


def valid_key_entry(entry: str) -> bool:
    """Whether a configured entry is a hex SHA-256 digest, optionally prefixed with a label ("ann:<digest>")."""
    return _ENTRY.match(entry.strip().lower()) is not None


def _parse(entry: str) -> tuple[str, str] | None:
    found = _ENTRY.match(entry.strip().lower())
    return (found[1] or UNLABELLED, found[2]) if found else None


class AdminAuth:
    """Checks `Authorization: Bearer <key>` (or a key typed into the sign-in page) against the configured hashes."""

    def __init__(self, key_hashes: Iterable[str]) -> None:
        self._hashes = [h.strip().lower() for h in key_hashes if h.strip()]

    @property
    def configured(self) -> bool:
        return bool(self._hashes)

    def label_of(self, key: str) -> str | None:
        """Who holds `key` (its label, "admin" when unlabelled); None when it is not a configured key."""
        presented = hash_key(key.strip())
        # Compare against every configured hash so timing reveals neither which nor how many keys matched.
        label: str | None = None
        for entry in self._hashes:
            parsed = _parse(entry)
            if parsed is not None and hmac.compare_digest(presented, parsed[1]) and label is None:
                label = parsed[0]
        return label

    def check(self, headers: Mapping[str, str]) -> None:
        """Return if the request carries a valid key; raise AdminAuthError (401) otherwise."""
        self.identify(headers)

    def identify(self, headers: Mapping[str, str]) -> str:
        """The label of the bearer key the request carries; AdminAuthError (401) when it carries no valid one."""
        challenge = {"WWW-Authenticate": 'Bearer realm="formloop-admin"'}
        header = headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AdminAuthError("Admin routes need an 'Authorization: Bearer <admin key>' header.", headers=challenge)
        label = self.label_of(key)
        if label is None:
            raise AdminAuthError("The admin key is not valid.", headers=challenge)
        return label
