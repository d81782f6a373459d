"""Admin keys: configured as hashes, checked in constant time, 401 for anything else."""
from __future__ import annotations

import pytest

from chalicelib.core.config import SettingError, Settings
from chalicelib.core.errors import AdminAuthError
from chalicelib.core.keys import AdminAuth, hash_key


def test_valid_bearer_key_passes() -> None:
    AdminAuth([hash_key("s3cret-key")]).check({"authorization": "Bearer s3cret-key"})


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic czNjcmV0", "Bearer wrong", "bearer s3cret-key2"])
def test_missing_or_wrong_key_is_401(header: str) -> None:
    with pytest.raises(AdminAuthError) as caught:
        AdminAuth([hash_key("s3cret-key")]).check({"authorization": header} if header else {})
    assert caught.value.STATUS_CODE == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_no_configured_keys_refuses_everyone() -> None:
    with pytest.raises(AdminAuthError):
        AdminAuth([]).check({"authorization": "Bearer anything"})


def test_settings_take_hashes_and_a_local_plain_key() -> None:
    settings = Settings.from_environ({"FORMLOOP_ADMIN_KEY_HASHES": hash_key("a"), "FORMLOOP_ADMIN_KEY": "b"})
    auth = AdminAuth(settings.admin_key_hashes)
    auth.check({"authorization": "Bearer a"})
    auth.check({"authorization": "Bearer b"})


def test_malformed_hash_setting_names_itself() -> None:
    with pytest.raises(SettingError, match="FORMLOOP_ADMIN_KEY_HASHES"):
        Settings.from_environ({"FORMLOOP_ADMIN_KEY_HASHES": "not-a-hash"})
