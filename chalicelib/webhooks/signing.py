"""Standard Webhooks signatures, and each target's secret from the settings (never from a definition).

Signing uses the reference `standardwebhooks` library (standard library only, a few kilobytes), imported when
the first request is signed. A setting may hold two secrets, separated by a space, during a rotation: every
request then carries both signatures, and a receiver holding either one verifies it.
"""
from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from chalicelib.core.config import SettingError, Settings, webhook_secret_variable

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRETS = 2


class WebhookSecretError(SettingError):
    """A target's secret is missing or malformed; the message names its variable."""


def target_secrets(settings: Settings, target: str) -> list[str]:
    """The target's one or two secrets, from FORMLOOP_WEBHOOK_SECRET_<NAME> or, in production, its parameter."""
    variable = webhook_secret_variable(target)
    value = dict(settings.webhooks.secrets).get(variable)
    path = getattr(settings, "secrets_path", None)
    if not value and path:
        from chalicelib.core.secrets import secret_value  # SSM, read once per container
        value = secret_value(variable, None, path, settings.region)
    if not value:
        raise WebhookSecretError(f"{variable} is missing: set it to the target's secret (whsec_ and base64, "
                                 "e.g. from `python -c \"import base64,os;print('whsec_'+base64.b64encode("
                                 "os.urandom(32)).decode())\"`)")
    secrets = value.replace(",", " ").split()
    if len(secrets) > MAX_SECRETS:
        raise WebhookSecretError(f"{variable} holds {len(secrets)} secrets; at most {MAX_SECRETS} (old and new, "
                                 "during a rotation)")
    for secret in secrets:
        if not secret.startswith(SECRET_PREFIX):
            raise WebhookSecretError(f"{variable} must hold secrets starting with {SECRET_PREFIX!r}")
        try:
            raw = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raise WebhookSecretError(f"{variable}: the part after {SECRET_PREFIX!r} must be base64") from None
        if len(raw) < MIN_SECRET_BYTES:
            raise WebhookSecretError(f"{variable}: each secret must be at least {MIN_SECRET_BYTES} random bytes")
    return secrets


def signature_headers(webhook_id: str, timestamp: int, body: bytes, secrets: list[str]) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` (one `v1,` signature per secret)."""
    from standardwebhooks.webhooks import Webhook

    moment = datetime.fromtimestamp(timestamp, UTC)
    text = body.decode("utf-8")
    signatures = [Webhook(secret).sign(webhook_id, moment, text) for secret in secrets]
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": " ".join(signatures)}
