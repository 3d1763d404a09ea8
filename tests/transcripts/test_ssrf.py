"""SSRF guard on endpoint base URLs (also issue 9's attack corpus item)."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError

from transcripts.ssrf import validate_base_url


def fake_dns(monkeypatch, mapping: dict[str, str]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in mapping:
            family = socket.AF_INET6 if ":" in mapping[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (mapping[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://169.254.10.1/v1", "link-local"),
        ("http://[fe80::1]/v1", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://2852039166/", "metadata"),  # 169.254.169.254 as one decimal number
        ("http://10.1.2.3/v1", "private"),
        ("http://192.168.0.10:8000/v1", "private"),
        ("http://[::1]:8000/v1", "private or loopback"),
        ("http://0.0.0.0:8000/v1", "private or loopback"),
        ("ftp://example.org/", "http:// or https://"),
        ("http://user:pw@api.example.com/", "credentials"),
        ("http:///v1", "no host"),
    ],
)
def test_refused(url, reason):
    with pytest.raises(ValidationError) as info:
        validate_base_url(url)
    assert reason in " ".join(info.value.messages)


def test_loopback_allowed_by_default_allowlist():
    validate_base_url("http://127.0.0.1:8765/v1")
    validate_base_url("http://localhost:8765/v1")


def test_loopback_refused_when_not_allowlisted(settings):
    settings.ENDPOINT_HOST_ALLOWLIST = []
    with pytest.raises(ValidationError, match="ENDPOINT_HOST_ALLOWLIST"):
        validate_base_url("http://127.0.0.1:8765/v1")


def test_allowlist_opens_private_hosts_but_never_link_local(settings, monkeypatch):
    settings.ENDPOINT_HOST_ALLOWLIST = ["vllm.internal", "169.254.169.254"]
    fake_dns(monkeypatch, {"vllm.internal": "10.0.0.5"})
    validate_base_url("http://vllm.internal:8000/v1")
    with pytest.raises(ValidationError, match="always refused"):
        validate_base_url("http://169.254.169.254/")


def test_public_host_passes_and_resolution_is_checked(monkeypatch):
    fake_dns(
        monkeypatch,
        {"api.example.com": "93.184.216.34", "evil.example.com": "169.254.169.254"},
    )
    validate_base_url("https://api.example.com/v1")
    # A public-looking name that resolves to the metadata address is refused.
    with pytest.raises(ValidationError, match="metadata"):
        validate_base_url("https://evil.example.com/v1")


def test_unresolvable_host_has_a_clear_error():
    with pytest.raises(ValidationError, match="Could not resolve host"):
        validate_base_url("http://no-such-host.invalid/v1")
