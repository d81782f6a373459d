"""Settings, built from an environment mapping at first use (never at import).

Every default is written once, as a dataclass field default; `from_environ` reads it from there.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chalicelib.core.keys import hash_key, valid_key_entry

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# `chalice package` ships only app.py and chalicelib/: `formloop package` (make package) copies forms/ here.
BUNDLED_FORMS_DIR = Path(__file__).resolve().parents[1] / "bundled" / "forms"
LOCAL_STAGE = "local"
MIN_SECRET_CHARS = 32


class SettingError(Exception):
    """A setting is missing or has a value Formloop cannot use."""


def _defaults(cls: type) -> dict[str, Any]:
    """A dataclass's field defaults by field name (default factories called), the one place they are written."""
    defaults: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.default is not dataclasses.MISSING:
            defaults[item.name] = item.default
        elif item.default_factory is not dataclasses.MISSING:
            defaults[item.name] = item.default_factory()
    return defaults


def _text(environ: Mapping[str, str], name: str, default: str) -> str:
    """A variable's value with surrounding spaces dropped; the default when it is unset or blank."""
    return environ.get(name, "").strip() or default


def _int(environ: Mapping[str, str], name: str, default: int, *, allow_zero: bool = False) -> int:
    raw = environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not a whole number") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise SettingError(f"{name}={raw!r} must be {'zero or more' if allow_zero else 'positive'}")
    return value


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingError(f"{name}={raw!r} must be true or false (1/0, yes/no)")


def _admin_key_hashes(environ: Mapping[str, str]) -> tuple[str, ...]:
    """FORMLOOP_ADMIN_KEY_HASHES (comma-separated SHA-256 hex), plus FORMLOOP_ADMIN_KEY for local runs."""
    hashes = [h.strip().lower() for h in environ.get("FORMLOOP_ADMIN_KEY_HASHES", "").split(",") if h.strip()]
    for value in hashes:
        if not valid_key_entry(value):
            raise SettingError("FORMLOOP_ADMIN_KEY_HASHES must list SHA-256 hex digests (64 hex characters each), "
                               "each optionally labelled with who holds it, e.g. ann:<digest>")
    plain = environ.get("FORMLOOP_ADMIN_KEY", "")
    if plain:
        hashes.append(hash_key(plain))
    return tuple(hashes)


SecretPurpose = Literal["ip_hash_salt", "page_secret", "gift_secret", "session_secret"]


@dataclass(frozen=True)
class SecretSetting:
    """One secret, one purpose: its variable, and the fixed value a laptop may use instead."""

    variable: str
    local_value: str
    purpose: str


# One secret per purpose, so that knowing one (a leaked salt, say) forges nothing else. The local values
# are public, so outside the local stage each variable must be set.
SECRETS: dict[SecretPurpose, SecretSetting] = {
    "ip_hash_salt": SecretSetting("FORMLOOP_IP_HASH_SALT", "formloop-local-ip-hash-salt-not-for-production",
                                  "salts the hash of a client's IP address kept for per-IP rate limits"),
    "page_secret": SecretSetting("FORMLOOP_PAGE_SECRET", "formloop-local-page-secret-not-for-production",
                                 "signs the `_ts` time-trap token of the form page"),
    "gift_secret": SecretSetting("FORMLOOP_GIFT_SECRET", "formloop-local-gift-secret-not-for-production",
                                 "derives gift link tokens"),
    "session_secret": SecretSetting("FORMLOOP_SESSION_SECRET", "formloop-local-session-secret-not-for-production",
                                    "signs the dashboard's session cookie and its CSRF tokens"),
}


def _secrets(environ: Mapping[str, str], stage: str) -> dict[SecretPurpose, str | None]:
    """Each secret from its variable; the local value on a laptop, else None (refused at first use)."""
    values: dict[SecretPurpose, str | None] = {}
    for purpose, secret in SECRETS.items():
        value = environ.get(secret.variable, "")
        if value and len(value) < MIN_SECRET_CHARS:
            raise SettingError(f"{secret.variable} must be at least {MIN_SECRET_CHARS} characters of random text")
        values[purpose] = value or (secret.local_value if stage == LOCAL_STAGE else None)
    chosen = [value for value in values.values() if value]
    if len(set(chosen)) < len(chosen):
        raise SettingError(f"{', '.join(s.variable for s in SECRETS.values())} must each be a different secret")
    return values


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
    # All acknowledgements of one form in one UTC hour: however many addresses a flood names, at most this many
    # emails of ours reach strangers (a form may set its own, `x-form.acknowledgement.perFormPerHour`).
    acknowledgements_per_form_per_hour: int = 50

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> MailSettings:
        """Read the FORMLOOP_MAIL_*, FORMLOOP_SMTP_* and FORMLOOP_SES_* variables."""
        default = _defaults(cls)
        backend = _text(environ, "FORMLOOP_MAIL_BACKEND", default["backend"]).lower()
        if backend not in MAIL_BACKENDS:
            raise SettingError(f"FORMLOOP_MAIL_BACKEND={backend!r} must be one of {', '.join(MAIL_BACKENDS)}")
        # No default sender for real backends; its absence fails each email with a clear error
        # (delivery records, logs) instead of refusing every form post.
        sender = environ.get("FORMLOOP_MAIL_FROM", "") or (default["sender"] if backend == "outbox" else "")
        outbox = environ.get("FORMLOOP_OUTBOX_DIR")
        return cls(
            backend=backend,
            sender=sender,
            outbox_dir=Path(outbox) if outbox else default["outbox_dir"],
            smtp_host=_text(environ, "FORMLOOP_SMTP_HOST", default["smtp_host"]),
            smtp_port=_int(environ, "FORMLOOP_SMTP_PORT", default["smtp_port"]),
            smtp_user=environ.get("FORMLOOP_SMTP_USER") or default["smtp_user"],
            smtp_password=environ.get("FORMLOOP_SMTP_PASSWORD") or default["smtp_password"],
            smtp_starttls=_flag(environ, "FORMLOOP_SMTP_STARTTLS", default["smtp_starttls"]),
            smtp_timeout_seconds=_int(environ, "FORMLOOP_SMTP_TIMEOUT_SECONDS", default["smtp_timeout_seconds"]),
            ses_configuration_set=environ.get("FORMLOOP_SES_CONFIGURATION_SET") or default["ses_configuration_set"],
            admin_base_url=_text(environ, "FORMLOOP_ADMIN_BASE_URL", default["admin_base_url"]).rstrip("/"),
            max_attempts=_int(environ, "FORMLOOP_MAIL_MAX_ATTEMPTS", default["max_attempts"]),
            retry_base_ms=_int(environ, "FORMLOOP_MAIL_RETRY_BASE_MS", default["retry_base_ms"]),
            retry_hours=_int(environ, "FORMLOOP_MAIL_RETRY_HOURS", default["retry_hours"]),
            # 0 is allowed here and means no acknowledgements at all.
            acknowledgements_per_address_per_day=_int(environ, "FORMLOOP_ACK_PER_ADDRESS_PER_DAY",
                                                      default["acknowledgements_per_address_per_day"],
                                                      allow_zero=True),
            acknowledgements_per_form_per_hour=_int(environ, "FORMLOOP_ACKNOWLEDGEMENTS_PER_FORM_PER_HOUR",
                                                    default["acknowledgements_per_form_per_hour"], allow_zero=True),
        )


CAPTCHA_PROVIDERS = ("turnstile", "hcaptcha", "recaptcha-v2", "recaptcha-v3")
# The variable holding each provider's secret key (reCAPTCHA v2 and v3 keys are separate pairs at Google).
CAPTCHA_SECRET_VARIABLES = {"turnstile": "FORMLOOP_TURNSTILE_SECRET", "hcaptcha": "FORMLOOP_HCAPTCHA_SECRET",
                            "recaptcha-v2": "FORMLOOP_RECAPTCHA_V2_SECRET",
                            "recaptcha-v3": "FORMLOOP_RECAPTCHA_V3_SECRET"}
# The providers' published test secrets (they accept their test site keys' tokens): public, so local stage only.
CAPTCHA_LOCAL_SECRETS = {"turnstile": "1x0000000000000000000000000000000AA",
                         "hcaptcha": "0x0000000000000000000000000000000000000000",
                         "recaptcha-v2": "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe",
                         "recaptcha-v3": "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe"}
CAPTCHA_VERIFY_URLS = {"turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
                       "hcaptcha": "https://api.hcaptcha.com/siteverify",
                       "recaptcha-v2": "https://www.google.com/recaptcha/api/siteverify",
                       "recaptcha-v3": "https://www.google.com/recaptcha/api/siteverify"}
_CAPTCHA_URL_VARIABLES = {"turnstile": "FORMLOOP_TURNSTILE_VERIFY_URL", "hcaptcha": "FORMLOOP_HCAPTCHA_VERIFY_URL",
                          "recaptcha-v2": "FORMLOOP_RECAPTCHA_VERIFY_URL",
                          "recaptcha-v3": "FORMLOOP_RECAPTCHA_VERIFY_URL"}
CAPTCHA_FORM_SECRET_PREFIX = "FORMLOOP_CAPTCHA_SECRET_"


def captcha_form_variable(form_id: str) -> str:
    """The variable of one form's own CAPTCHA secret: FORMLOOP_CAPTCHA_SECRET_ and the id, upper-cased, `-` as `_`."""
    return CAPTCHA_FORM_SECRET_PREFIX + "".join(c if c.isalnum() else "_" for c in form_id.upper())


@dataclass(frozen=True)
class CaptchaSettings:
    """CAPTCHA secrets (never in a definition), siteverify URLs and the timeout of one verification call."""

    stage: str = LOCAL_STAGE
    # (provider, secret) and (form variable, secret) pairs: tuples, so the settings stay hashable.
    provider_secrets: tuple[tuple[str, str], ...] = ()
    form_secrets: tuple[tuple[str, str], ...] = ()
    verify_urls: tuple[tuple[str, str], ...] = tuple(CAPTCHA_VERIFY_URLS.items())
    timeout_ms: int = 3000
    # Production reads unset secrets from SSM Parameter Store under this path (chalicelib/core/secrets.py).
    secrets_path: str | None = None
    region: str = "us-east-1"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], stage: str) -> CaptchaSettings:
        """Read FORMLOOP_<PROVIDER>_SECRET, FORMLOOP_CAPTCHA_SECRET_<FORM>, the *_VERIFY_URL and the timeout."""
        default = _defaults(cls)
        urls = []
        for provider, url in CAPTCHA_VERIFY_URLS.items():
            chosen = _text(environ, _CAPTCHA_URL_VARIABLES[provider], url)
            if not chosen.startswith(("https://", "http://")):
                raise SettingError(f"{_CAPTCHA_URL_VARIABLES[provider]}={chosen!r} must be an http(s) URL")
            urls.append((provider, chosen))
        return cls(
            stage=stage,
            provider_secrets=tuple((p, environ[v].strip()) for p, v in CAPTCHA_SECRET_VARIABLES.items()
                                   if environ.get(v, "").strip()),
            form_secrets=tuple(sorted((k, v.strip()) for k, v in environ.items()
                                      if k.startswith(CAPTCHA_FORM_SECRET_PREFIX) and v.strip())),
            verify_urls=tuple(urls),
            timeout_ms=_int(environ, "FORMLOOP_CAPTCHA_TIMEOUT_MS", default["timeout_ms"]),
            secrets_path=environ.get("FORMLOOP_SECRETS_PATH", "").strip() or None,
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or default["region"],
        )

    def secret(self, provider: str, form_id: str) -> str:
        """The form's own secret, else its provider's; the providers' test secrets only on a laptop.

        A SettingError naming both variables when neither is set outside the local stage.
        """
        own = captcha_form_variable(form_id)
        value = dict(self.form_secrets).get(own) or dict(self.provider_secrets).get(provider)
        if not value and self.secrets_path:  # production: the form's parameter if it exists, else the provider's
            from chalicelib.core.secrets import parameter_store
            store = parameter_store(self.secrets_path, self.region)
            value = store.get_optional(own) or store.get(CAPTCHA_SECRET_VARIABLES[provider])
        if value:
            return value
        if self.stage == LOCAL_STAGE:
            return CAPTCHA_LOCAL_SECRETS[provider]
        raise SettingError(f"{CAPTCHA_SECRET_VARIABLES[provider]} (or {own} for this form only) is missing, and has "
                           f"no default outside the local stage (FORMLOOP_STAGE={self.stage}): set it to the "
                           f"secret key of the form's {provider} site key")

    def verify_url(self, provider: str) -> str:
        """Where the provider's siteverify endpoint is (a local server in tests)."""
        return dict(self.verify_urls)[provider]


WEBHOOK_SECRET_PREFIX = "FORMLOOP_WEBHOOK_SECRET_"


def webhook_secret_variable(target: str) -> str:
    """The variable of one webhook target's secret: FORMLOOP_WEBHOOK_SECRET_ and its name, upper-cased, `-` as `_`."""
    return WEBHOOK_SECRET_PREFIX + "".join(c if c.isalnum() else "_" for c in target.upper())


@dataclass(frozen=True)
class WebhookSettings:
    """Webhook delivery: each target's secret (never in a definition), the per-call timeout, the response cap."""

    # (variable, value) pairs of FORMLOOP_WEBHOOK_SECRET_<NAME>: a tuple, so the settings stay hashable.
    secrets: tuple[tuple[str, str], ...] = ()
    timeout_seconds: int = 10
    max_response_bytes: int = 16 * 1024

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> WebhookSettings:
        """Read FORMLOOP_WEBHOOK_SECRET_<NAME>, FORMLOOP_WEBHOOK_TIMEOUT_SECONDS and *_MAX_RESPONSE_BYTES."""
        default = _defaults(cls)
        return cls(
            secrets=tuple(sorted((k, v.strip()) for k, v in environ.items()
                                 if k.startswith(WEBHOOK_SECRET_PREFIX) and v.strip())),
            timeout_seconds=_int(environ, "FORMLOOP_WEBHOOK_TIMEOUT_SECONDS", default["timeout_seconds"]),
            max_response_bytes=_int(environ, "FORMLOOP_WEBHOOK_MAX_RESPONSE_BYTES", default["max_response_bytes"]),
        )


# Positive whole-number settings: field -> variable.
_LIMITS = {
    "max_body_bytes": "FORMLOOP_MAX_BODY_BYTES",
    "max_fields": "FORMLOOP_MAX_FIELDS",
    "max_depth": "FORMLOOP_MAX_DEPTH",
    "max_field_chars": "FORMLOOP_MAX_FIELD_CHARS",
    "storage_retries": "FORMLOOP_STORAGE_RETRIES",
    "storage_timeout_seconds": "FORMLOOP_STORAGE_TIMEOUT_SECONDS",
}


@dataclass(frozen=True)
class Settings:
    """Everything Formloop reads from its environment."""

    stage: str = LOCAL_STAGE
    table_prefix: str = "formloop"
    region: str = "us-east-1"
    dynamodb_endpoint: str | None = None
    forms_dir: Path = field(default_factory=default_forms_dir)
    # Secrets are None only outside the local stage when their variable is unset: `secret()` names it.
    ip_hash_salt: str | None = SECRETS["ip_hash_salt"].local_value
    page_secret: str | None = SECRETS["page_secret"].local_value
    gift_secret: str | None = SECRETS["gift_secret"].local_value
    session_secret: str | None = SECRETS["session_secret"].local_value
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
    # Where a deployment keeps its secrets in SSM Parameter Store (chalicelib/core/secrets.py); None: environment only.
    secrets_path: str | None = None
    mail: MailSettings = MailSettings()
    webhooks: WebhookSettings = WebhookSettings()
    captcha: CaptchaSettings = CaptchaSettings()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from os.environ or any mapping of the same shape."""
        default = _defaults(cls)
        stage = _text(environ, "FORMLOOP_STAGE", default["stage"])
        forms_dir = environ.get("FORMLOOP_FORMS_DIR")
        limits: dict[str, Any] = {name: _int(environ, variable, default[name]) for name, variable in _LIMITS.items()}
        secrets = _secrets(environ, stage)
        return cls(
            stage=stage,
            table_prefix=_text(environ, "FORMLOOP_TABLE_PREFIX", default["table_prefix"]),
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or default["region"],
            dynamodb_endpoint=environ.get("FORMLOOP_DYNAMODB_ENDPOINT") or default["dynamodb_endpoint"],
            forms_dir=Path(forms_dir) if forms_dir else default["forms_dir"],
            admin_key_hashes=_admin_key_hashes(environ),
            secrets_path=environ.get("FORMLOOP_SECRETS_PATH", "").strip() or None,
            mail=MailSettings.from_environ(environ),
            webhooks=WebhookSettings.from_environ(environ),
            captcha=CaptchaSettings.from_environ(environ, stage),
            ip_hash_salt=secrets["ip_hash_salt"],
            page_secret=secrets["page_secret"],
            gift_secret=secrets["gift_secret"],
            session_secret=secrets["session_secret"],
            **limits,
        )

    def secret(self, purpose: SecretPurpose) -> str:
        """The secret for one purpose; a SettingError naming its variable when it is missing."""
        value: str | None = getattr(self, purpose)
        if not value and self.secrets_path:  # production: the parameter named after the variable, read once
            from chalicelib.core.secrets import secret_value
            value = secret_value(SECRETS[purpose].variable, None, self.secrets_path, self.region)
            if value and len(value) < MIN_SECRET_CHARS:
                raise SettingError(f"{self.secrets_path}{SECRETS[purpose].variable} must be at least "
                                   f"{MIN_SECRET_CHARS} characters of random text")
        if not value:
            raise SettingError(f"{SECRETS[purpose].variable} is missing, and has no default outside the local "
                               f"stage (FORMLOOP_STAGE={self.stage}): set it to at least {MIN_SECRET_CHARS} "
                               f"characters of random text")
        return value

    def table_name(self, concept: str) -> str:
        """The DynamoDB table name for one concept, e.g. 'submissions'."""
        return f"{self.table_prefix}-{concept}"
