"""Identities and access: verified bearer tokens on HTTP (the topics' ACLs do the same on Kafka)."""

from shared.identity.http import Access, access_for, not_found
from shared.identity.principal import ROLE_TEXT, STAFF, InvalidClaims, Principal, Role
from shared.identity.verifier import KeySetSource, TokenVerifier, Unauthenticated, discovered_keys

__all__ = [
    "ROLE_TEXT",
    "STAFF",
    "Access",
    "InvalidClaims",
    "KeySetSource",
    "Principal",
    "Role",
    "TokenVerifier",
    "Unauthenticated",
    "access_for",
    "discovered_keys",
    "not_found",
]
