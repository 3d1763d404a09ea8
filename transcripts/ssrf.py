"""SSRF guard for model endpoint base URLs.

A lead types a base URL that the *server* will call, so the URL must not reach cloud
metadata services or the internal network. The hostname is resolved and every address
checked. Link-local (169.254.0.0/16, fe80::/10) and metadata hosts are always refused;
private, loopback and other non-public ranges are refused unless the host is listed in
``settings.ENDPOINT_HOST_ALLOWLIST`` (default: 127.0.0.1 and localhost, for the fake
server). Checked when an endpoint is saved and again before every call (DNS can change).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

METADATA_HOSTS = frozenset(
    {
        "169.254.169.254",
        "fd00:ec2::254",
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "100.100.100.200",  # Alibaba Cloud metadata
    }
)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _allowlist() -> set[str]:
    return {h.strip().lower().strip("[]") for h in settings.ENDPOINT_HOST_ALLOWLIST if h.strip()}


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(f"Could not resolve host {host!r} ({exc}).")
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        addresses.append(ip)
    return addresses


def _refusal(host: str, ip: IPAddress, allowed: bool) -> str | None:
    if str(ip) in METADATA_HOSTS:
        return f"{host!r} resolves to {ip}, a cloud metadata address; it is always refused."
    if ip.is_link_local:
        return f"{host!r} resolves to {ip}, a link-local address; it is always refused."
    if allowed:
        return None
    if ip.is_loopback or ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
        return (
            f"{host!r} resolves to {ip}, a private or loopback address. Only public hosts are "
            "allowed unless an administrator adds this host to ENDPOINT_HOST_ALLOWLIST."
        )
    if not ip.is_global:
        return f"{host!r} resolves to {ip}, which is not a public address."
    return None


def validate_base_url(url: str) -> None:
    """Raise ``ValidationError`` with a clear message if the server must not call ``url``."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationError(f"Invalid URL: {exc}.")
    if parts.scheme not in ("http", "https"):
        raise ValidationError("The base URL must start with http:// or https://.")
    if parts.username or parts.password:
        raise ValidationError(
            "Do not put credentials in the base URL; name an environment variable instead."
        )
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise ValidationError("The base URL has no host.")
    if host in METADATA_HOSTS:
        raise ValidationError(f"{host!r} is a cloud metadata host; it is always refused.")
    allowed = host in _allowlist()
    for ip in _resolve(host, port):
        reason = _refusal(host, ip, allowed)
        if reason:
            raise ValidationError(reason)
