"""Admin authentication: bearer keys, stored only as SHA-256 hashes, compared in constant time."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

from chalicelib.core.errors import AdminAuthError


def hash_key(key: str) -> str:
    """The stored form of an admin key (hex SHA-256); keys are long random strings, so no salt is needed."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class AdminAuth:
    """Checks `Authorization: Bearer <key>` against the configured key hashes."""

    def __init__(self, key_hashes: Iterable[str]) -> None:
        self._hashes = [h.strip().lower() for h in key_hashes if h.strip()]

    @property
    def configured(self) -> bool:
        return bool(self._hashes)

    def check(self, headers: Mapping[str, str]) -> None:
        """Return if the request carries a valid key; raise AdminAuthError (401) otherwise."""
        challenge = {"WWW-Authenticate": 'Bearer realm="formloop-admin"'}
        header = headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AdminAuthError("Admin routes need an 'Authorization: Bearer <admin key>' header.", headers=challenge)
        presented = hash_key(key.strip())
        # Compare against every configured hash so timing reveals neither which nor how many keys matched.
        matched = False
        for stored in self._hashes:
            matched |= hmac.compare_digest(presented, stored)
        if not matched:
            raise AdminAuthError("The admin key is not valid.", headers=challenge)
