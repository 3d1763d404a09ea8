"""Login with throttling of repeated failures (per username and per client address)."""

from __future__ import annotations

import hashlib
import logging
import unicodedata

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

log = logging.getLogger(__name__)


def _key(kind: str, value: str) -> str:
    # Same normalisation as sign-in (NFKC, surrounding spaces) plus case folding, so
    # spelling variants of one username share one failure budget.
    value = unicodedata.normalize("NFKC", value.strip()).casefold()
    digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


# If the cache (Redis) is down, throttling fails open: people can still sign in, and the
# outage is logged. Refusing every login during a cache outage would stop all coding.


def login_failures(request: HttpRequest, username: str) -> int:
    keys = [_key("user", username.lower()), _key("ip", _client_ip(request))]
    try:
        return max(cache.get(k, 0) for k in keys)
    except Exception:  # noqa: BLE001 - cache outage
        log.warning("login throttling unavailable: cache error", exc_info=True)
        return 0


def record_login_failure(request: HttpRequest, username: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    try:
        for k in (_key("user", username.lower()), _key("ip", _client_ip(request))):
            cache.add(k, 0, window)
            try:
                cache.incr(k)
            except ValueError:
                cache.set(k, 1, window)
    except Exception:  # noqa: BLE001 - cache outage
        log.warning("login failure not recorded: cache error", exc_info=True)


def clear_login_failures(request: HttpRequest, username: str) -> None:
    try:
        cache.delete(_key("user", username.lower()))
    except Exception:  # noqa: BLE001 - cache outage
        log.warning("login failures not cleared: cache error", exc_info=True)


THROTTLED = "Too many failed sign-in attempts. Wait a few minutes and try again."


class ThrottleMixin:
    """Refuses further attempts for a while after LOGIN_FAILURE_LIMIT failures."""

    def clean(self) -> dict:
        username = self.data.get("username", "") or ""
        if login_failures(self.request, username) >= settings.LOGIN_FAILURE_LIMIT:
            raise ValidationError(THROTTLED, code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            record_login_failure(self.request, username)
            raise
        clear_login_failures(self.request, username)
        return cleaned


class ThrottledAuthenticationForm(ThrottleMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottleMixin, AdminAuthenticationForm):
    """The admin login shares the same throttle (no bypass through /admin/login/)."""


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True
