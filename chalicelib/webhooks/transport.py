"""One webhook request, safely: https outside the local stage, no private addresses, no redirects, capped reads.

The host is resolved once, every address it resolves to is checked, and the connection goes to that checked
address with the original name in the Host header and the TLS SNI: a DNS answer that changes between the check
and the connection (DNS rebinding) cannot point a request at an internal service.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

VERSION = "0.1.0"  # pyproject.toml's version
USER_AGENT = f"Formloop-Webhooks/{VERSION}"
# Cloud metadata services, refused by name as well as by range (link-local, unique-local).
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
                                ipaddress.ip_address("100.100.100.200")})

Resolver = Callable[[str, int], list[str]]


class WebhookRefusedError(Exception):
    """The target may not be called (scheme, address, port): permanent, no retry helps."""


class WebhookTransportError(Exception):
    """No answer: the connection failed, was reset, or timed out; worth a retry."""


@dataclass(frozen=True)
class WebhookResponse:
    """What the receiver answered: status, the start of its body, and its Retry-After in seconds, if any."""

    status: int
    body: bytes
    retry_after: float | None = None
    location: str | None = None


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, as text (the system resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookTransportError(f"cannot resolve {host}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_problem(address: str) -> str | None:
    """Why a request may not go to this address (private, loopback, link-local, metadata ...), or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for label, test in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                        ("private", ip.is_private), ("multicast", ip.is_multicast),
                        ("unspecified", ip.is_unspecified), ("reserved", ip.is_reserved)):
        if test:
            return f"a {label} address"
    if not ip.is_global:
        return "not a public address"
    return None


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from now; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a checked address; the Host header keeps the name from the URL."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, over TLS: the certificate is checked against the name from the URL (SNI too)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass
class WebhookTransport:
    """POSTs one signed body to one URL and reads at most `max_response_bytes` of the answer."""

    timeout_seconds: float = 10.0
    max_response_bytes: int = 16 * 1024
    require_https: bool = True
    allow_private: bool = False
    resolver: Resolver = resolve

    def check(self, url: str) -> tuple[str, str, int, str]:
        """(scheme, host, port, path) of a URL this transport may call; WebhookRefusedError saying why not."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or (parts.scheme == "http" and self.require_https):
            raise WebhookRefusedError(f"only https webhook URLs are called outside the local stage, not {url!r}")
        if parts.username or parts.password or not parts.hostname:
            raise WebhookRefusedError("a webhook URL needs a host and no user name or password")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise WebhookRefusedError(f"the port of {url!r} is not a number from 1 to 65535") from None
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return parts.scheme, parts.hostname, port, path

    def pick_address(self, host: str, port: int) -> str:
        """The address to connect to, after checking every address the host resolves to."""
        addresses = self.resolver(host, port)
        if not addresses:
            raise WebhookTransportError(f"{host} resolves to no address")
        if not self.allow_private:
            for address in addresses:
                problem = address_problem(address)
                if problem:
                    raise WebhookRefusedError(f"{host} resolves to {address}, {problem}: webhooks only go to "
                                              "public addresses")
        return addresses[0]

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> WebhookResponse:
        """Send one request; the answer, WebhookRefusedError (never worth a retry) or WebhookTransportError."""
        scheme, host, port, path = self.check(url)
        address = self.pick_address(host, port)
        connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(host, port, address, self.timeout_seconds)
        deadline = time.monotonic() + self.timeout_seconds
        try:
            connection.request("POST", path, body=body, headers={
                "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
            response = connection.getresponse()
            received = self._read(response, deadline)
            return WebhookResponse(status=response.status, body=received,
                                   retry_after=retry_after_seconds(response.getheader("Retry-After"), time.time()),
                                   location=response.getheader("Location"))
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, garbled
            reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            raise WebhookTransportError(f"no answer from {host}: {reason}") from None
        finally:
            connection.close()

    def _read(self, response: http.client.HTTPResponse, deadline: float) -> bytes:
        # Only the start of the answer is kept (for the delivery record); a receiver that keeps sending slowly
        # is cut off at the call's deadline rather than holding the worker.
        chunks: list[bytes] = []
        size = 0
        while size < self.max_response_bytes:
            if time.monotonic() > deadline:
                raise TimeoutError("the answer took longer than the timeout")
            chunk = response.read1(min(4096, self.max_response_bytes - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
