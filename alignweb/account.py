"""Self-service account page: change your own password (no admin needed).

Wrong current passwords count against the same failure budget as sign-in, so a stolen
session cannot be used to guess the password behind it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy

from .auth import THROTTLED, clear_login_failures, login_failures, record_login_failure


class ThrottledPasswordChangeForm(PasswordChangeForm):
    def __init__(self, user, *args, request=None, **kwargs) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        name = self.user.get_username()
        if login_failures(self.request, name) >= settings.LOGIN_FAILURE_LIMIT:
            raise ValidationError(THROTTLED, code="throttled")
        try:
            password = super().clean_old_password()
        except ValidationError:
            record_login_failure(self.request, name)
            raise
        clear_login_failures(self.request, name)
        return password


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    form_class = ThrottledPasswordChangeForm
    success_url = reverse_lazy("home")

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        response = super().form_valid(form)  # keeps this session signed in
        messages.success(self.request, "Your password was changed.")
        return response
