"""Secrets from SSM Parameter Store in production: read on first use, once per container, then cached.

A deployment sets FORMLOOP_SECRETS_PATH (e.g. "/formloop/prod/") and keeps each secret as a SecureString
parameter named after its variable under that path ("/formloop/prod/FORMLOOP_GIFT_SECRET"). A variable set
in the environment wins, so local runs and tests keep plain environment variables. Nothing here runs at
import or at a cold start: a post that needs no secret never reaches SSM.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping

from chalicelib.core.config import SettingError
from chalicelib.core.keys import AdminAuth

ADMIN_KEY_HASHES = "FORMLOOP_ADMIN_KEY_HASHES"


class MissingParameterError(SettingError):
    """A secret's parameter is absent, empty or unreadable; the message names the parameter."""


class ParameterNotFoundError(MissingParameterError):
    """The parameter does not exist (as opposed to existing but being unreadable)."""


# Reads one parameter by name; chalicelib/storage/parameters.py provides it (the wiring installs it).
ParameterReader = Callable[[str], str]
_READER_FACTORY: list[Callable[[str], ParameterReader]] = []


def use_reader_factory(factory: Callable[[str], ParameterReader]) -> None:
    """How stores built from now on read parameters: `factory(region)` gives the reader."""
    _READER_FACTORY[:] = [factory]


class ParameterStore:
    """SecureString parameters under one path, each read once, on first use, and kept for the container's life."""

    def __init__(self, path: str, region: str) -> None:
        self.path = path if path.endswith("/") else path + "/"
        self.region = region
        self._reader: ParameterReader | None = None
        self._values: dict[str, str] = {}
        self._absent: set[str] = set()
        self._lock = threading.Lock()

    def use_reader(self, reader: ParameterReader) -> None:
        """Read through this reader from now on (tests pass one over a client wrapped in botocore's Stubber)."""
        self._reader = reader

    def name(self, variable: str) -> str:
        """The parameter that holds one variable's value."""
        return self.path + variable

    def get_optional(self, variable: str) -> str | None:
        """One variable's value, or None when its parameter does not exist (remembered, like a value)."""
        if variable in self._absent:
            return None
        try:
            return self.get(variable)
        except ParameterNotFoundError:
            self._absent.add(variable)
            return None

    def get(self, variable: str) -> str:
        """One variable's value, decrypted; MissingParameterError naming the parameter when it cannot be read."""
        cached = self._values.get(variable)
        if cached is not None:
            return cached
        with self._lock:  # one read per container even when threads ask at once
            if variable not in self._values:
                if self._reader is None:
                    if not _READER_FACTORY:
                        raise MissingParameterError(f"cannot read SSM parameter {self.name(variable)}: "
                                                    "no parameter reader is wired")
                    self._reader = _READER_FACTORY[0](self.region)
                self._values[variable] = self._reader(self.name(variable))
            return self._values[variable]


_STORES: dict[tuple[str, str], ParameterStore] = {}
_STORES_LOCK = threading.Lock()


def parameter_store(path: str, region: str) -> ParameterStore:
    """The container's one store for a path and region (so each parameter is read once per container)."""
    with _STORES_LOCK:
        return _STORES.setdefault((path, region), ParameterStore(path, region))


def secret_value(variable: str, environ_value: str | None, path: str | None, region: str) -> str | None:
    """A secret: its environment value when set, else its parameter under `path`, else None (no path)."""
    if environ_value:
        return environ_value
    if not path:
        return None
    return parameter_store(path, region).get(variable)


class ParameterAdminAuth(AdminAuth):
    """Admin keys whose hashes live in a parameter: read on the first admin request, not at a cold start."""

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        super().__init__(())
        self._load: Callable[[], Iterable[str]] | None = load

    def _ensure(self) -> None:
        if self._load is not None:
            hashes = [h.strip().lower() for h in self._load() if h.strip()]
            self._hashes, self._load = hashes, None

    @property
    def configured(self) -> bool:
        """Whether any key hash is configured (reads the parameter)."""
        self._ensure()
        return bool(self._hashes)

    def check(self, headers: Mapping[str, str]) -> None:
        """As AdminAuth.check, once the hashes are read."""
        self._ensure()
        super().check(headers)


def admin_auth(key_hashes: tuple[str, ...], path: str | None, region: str) -> AdminAuth:
    """The admin check: hashes from the environment when given, else from the parameter under `path`."""
    if key_hashes or not path:
        return AdminAuth(key_hashes)
    store = parameter_store(path, region)
    return ParameterAdminAuth(lambda: store.get(ADMIN_KEY_HASHES).split(","))


def reset_for_tests() -> None:
    """Forget every cached store (a test that stubs a new client starts from a cold container)."""
    with _STORES_LOCK:
        _STORES.clear()
