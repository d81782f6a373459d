"""Settings, built from an environment mapping at first use (never at import)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# `chalice package` ships only app.py and chalicelib/: `make bundle` copies forms/ here.
BUNDLED_FORMS_DIR = Path(__file__).resolve().parents[1] / "bundled" / "forms"


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


MAIL_BACKENDS = ("outbox", "smtp", "ses")


@dataclass(frozen=True)
class MailSettings:
    """How Formloop sends email: backend, sender, SMTP server, SES configuration set, retries."""

    backend: str = "outbox"
    sender: str = "Formloop <formloop@localhost>"
    outbox_dir: Path = PROJECT_ROOT / ".local" / "outbox"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: int = 10
    ses_configuration_set: str | None = None
    admin_base_url: str = "http://127.0.0.1:8000"
    max_attempts: int = 5  # per round; a round that meets only transient errors is followed by later rounds
    retry_base_ms: int = 200
    retry_hours: int = 24  # how long an email keeps getting later rounds before it is marked failed
    acknowledgements_per_address_per_day: int = 1

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> MailSettings:
        """Read the FORMLOOP_MAIL_*, FORMLOOP_SMTP_* and FORMLOOP_SES_* variables."""
        backend = environ.get("FORMLOOP_MAIL_BACKEND", "outbox").strip().lower() or "outbox"
        if backend not in MAIL_BACKENDS:
            raise SettingError(f"FORMLOOP_MAIL_BACKEND={backend!r} must be one of {', '.join(MAIL_BACKENDS)}")
        # No default sender for real backends; its absence fails each email with a clear error
        # (delivery records, logs) instead of refusing every form post.
        sender = environ.get("FORMLOOP_MAIL_FROM", "") or (cls.sender if backend == "outbox" else "")
        outbox = environ.get("FORMLOOP_OUTBOX_DIR")
        per_day = environ.get("FORMLOOP_ACK_PER_ADDRESS_PER_DAY", "").strip()
        return cls(
            backend=backend,
            sender=sender,
            outbox_dir=Path(outbox) if outbox else cls.outbox_dir,
            smtp_host=environ.get("FORMLOOP_SMTP_HOST", cls.smtp_host),
            smtp_port=_int(environ, "FORMLOOP_SMTP_PORT", cls.smtp_port),
            smtp_user=environ.get("FORMLOOP_SMTP_USER") or None,
            smtp_password=environ.get("FORMLOOP_SMTP_PASSWORD") or None,
            smtp_starttls=environ.get("FORMLOOP_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
            smtp_timeout_seconds=_int(environ, "FORMLOOP_SMTP_TIMEOUT_SECONDS", cls.smtp_timeout_seconds),
            ses_configuration_set=environ.get("FORMLOOP_SES_CONFIGURATION_SET") or None,
            admin_base_url=(environ.get("FORMLOOP_ADMIN_BASE_URL") or cls.admin_base_url).rstrip("/"),
            max_attempts=_int(environ, "FORMLOOP_MAIL_MAX_ATTEMPTS", cls.max_attempts),
            retry_base_ms=_int(environ, "FORMLOOP_MAIL_RETRY_BASE_MS", cls.retry_base_ms),
            retry_hours=_int(environ, "FORMLOOP_MAIL_RETRY_HOURS", cls.retry_hours),
            # 0 is allowed here and means no acknowledgements at all.
            acknowledgements_per_address_per_day=0 if per_day == "0" else _int(
                environ, "FORMLOOP_ACK_PER_ADDRESS_PER_DAY", cls.acknowledgements_per_address_per_day),
        )


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
    mail: MailSettings = MailSettings()

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
            mail=MailSettings.from_environ(environ),
        )

    def table_name(self, concept: str) -> str:
        """The DynamoDB table name for one concept, e.g. 'submissions'."""
        return f"{self.table_prefix}-{concept}"
