"""Settings, built from an environment mapping at first use (never at import)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# `chalice package` ships only app.py and chalicelib/: `make bundle` copies forms/ here.
BUNDLED_FORMS_DIR = Path(__file__).resolve().parent / "bundled" / "forms"


class SettingError(Exception):
    """A setting is missing or has a value Formloop cannot use."""


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise SettingError(f"{name}={raw!r} must be positive")
    return value


def _admin_key_hashes(environ: Mapping[str, str]) -> tuple[str, ...]:
    """FORMLOOP_ADMIN_KEY_HASHES (comma-separated SHA-256 hex), plus FORMLOOP_ADMIN_KEY for local runs."""
    import hashlib
    hashes = [h.strip().lower() for h in environ.get("FORMLOOP_ADMIN_KEY_HASHES", "").split(",") if h.strip()]
    for value in hashes:
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise SettingError("FORMLOOP_ADMIN_KEY_HASHES must list SHA-256 hex digests (64 hex characters each)")
    plain = environ.get("FORMLOOP_ADMIN_KEY", "")
    if plain:
        hashes.append(hashlib.sha256(plain.encode("utf-8")).hexdigest())
    return tuple(hashes)


# Signs gift links on a laptop only: outside the local stage FORMLOOP_GIFT_SECRET must be set.
LOCAL_GIFT_SECRET = "formloop-local-gift-secret-not-for-production"


def _gift_secret(environ: Mapping[str, str]) -> str | None:
    """FORMLOOP_GIFT_SECRET (derives gift link tokens); a fixed dev value only when FORMLOOP_STAGE is local."""
    secret = environ.get("FORMLOOP_GIFT_SECRET", "")
    if secret:
        if len(secret) < 32:
            raise SettingError("FORMLOOP_GIFT_SECRET must be at least 32 characters of random text")
        return secret
    return LOCAL_GIFT_SECRET if environ.get("FORMLOOP_STAGE", "local") == "local" else None


def default_forms_dir() -> Path:
    """Where definitions live: the bundled copy in a Lambda package, else the project's forms/."""
    if BUNDLED_FORMS_DIR.is_dir():
        return BUNDLED_FORMS_DIR
    return PROJECT_ROOT / "forms"


@dataclass(frozen=True)
class Settings:
    """Everything Formloop reads from its environment."""

    stage: str
    table_prefix: str
    region: str
    dynamodb_endpoint: str | None
    forms_dir: Path
    ip_hash_salt: str
    max_body_bytes: int = 64 * 1024
    max_fields: int = 200
    max_depth: int = 8
    max_field_chars: int = 20_000
    storage_retries: int = 3
    storage_timeout_seconds: int = 5
    idempotency_ttl_seconds: int = 24 * 3600
    spam_retention_days: int = 30
    default_retention_days: int = 365
    admin_key_hashes: tuple[str, ...] = ()
    gift_secret: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from os.environ or any mapping of the same shape."""
        forms_dir = environ.get("FORMLOOP_FORMS_DIR")
        return cls(
            stage=environ.get("FORMLOOP_STAGE", "local"),
            table_prefix=environ.get("FORMLOOP_TABLE_PREFIX", "formloop"),
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            dynamodb_endpoint=environ.get("FORMLOOP_DYNAMODB_ENDPOINT") or None,
            forms_dir=Path(forms_dir) if forms_dir else default_forms_dir(),
            ip_hash_salt=environ.get("FORMLOOP_IP_HASH_SALT", "formloop-local"),
            max_body_bytes=_int(environ, "FORMLOOP_MAX_BODY_BYTES", 64 * 1024),
            max_fields=_int(environ, "FORMLOOP_MAX_FIELDS", 200),
            max_depth=_int(environ, "FORMLOOP_MAX_DEPTH", 8),
            max_field_chars=_int(environ, "FORMLOOP_MAX_FIELD_CHARS", 20_000),
            storage_retries=_int(environ, "FORMLOOP_STORAGE_RETRIES", 3),
            storage_timeout_seconds=_int(environ, "FORMLOOP_STORAGE_TIMEOUT_SECONDS", 5),
            admin_key_hashes=_admin_key_hashes(environ),
            gift_secret=_gift_secret(environ),
        )

    def table_name(self, concept: str) -> str:
        """The DynamoDB table name for one concept, e.g. 'submissions'."""
        return f"{self.table_prefix}-{concept}"
