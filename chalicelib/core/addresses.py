"""One key per mailbox: how every part of Formloop compares email addresses.

Survey one-per-address markers, gift respondents, the acknowledgement's per-address limit and erasure by
address all use `normalise_address`, so two spellings of one inbox (case, `+tags`, Gmail's dots and its
googlemail.com domain) count as one person everywhere.
"""
from __future__ import annotations

import hashlib

# Gmail ignores dots in the local part, and googlemail.com is the same service.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalise_address(address: str) -> str:
    """The mailbox an address reaches: lower case, no `+tag`, and for Gmail no dots, on gmail.com."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def address_digest(address: str) -> str:
    """The hex SHA-256 of an address's mailbox: how a key names an inbox without storing the address."""
    return hashlib.sha256(normalise_address(address).encode("utf-8")).hexdigest()
