"""People around a study: invitations for people without an account, and removals.

Kept apart from coding/models.py (which re-exports them) so the study's core tables stay
readable. Role fields hold a ``Membership.Role`` value but carry no ``choices`` of their
own: the list of roles lives in one place (``Membership.Role``) and the services check it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


def role_label(value: str) -> str:
    from .models import Membership  # the one list of roles

    try:
        return str(Membership.Role(value).label)
    except ValueError:
        return value


class Invite(models.Model):
    """A single-use, expiring invitation to join a study. Only a hash of the token is kept:
    the link is shown (or emailed) once, when it is made."""

    class State(models.TextChoices):
        PENDING = "pending", "Invited"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    study = models.ForeignKey("coding.Study", on_delete=models.CASCADE, related_name="invites")
    email = models.EmailField()
    role = models.CharField(max_length=40)
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["study", "email"], name="invite_study_email")]

    def __str__(self) -> str:
        return f"invite {self.email} to {self.study_id} as {self.role}"

    @property
    def role_label(self) -> str:
        return role_label(self.role)

    @property
    def state(self) -> str:
        if self.accepted_at is not None:
            return self.State.ACCEPTED
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.State.PENDING


class MemberRemoval(models.Model):
    """A member taken off a study. Their submitted work stays (and is marked through this
    record); their open items went to other coders."""

    study = models.ForeignKey("coding.Study", on_delete=models.CASCADE, related_name="removals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=40)
    removed_at = models.DateTimeField(auto_now_add=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(blank=True)
    reassigned = models.PositiveIntegerField(default=0)
    drafts_discarded = models.PositiveIntegerField(default=0)
    submitted_kept = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-removed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} removed from {self.study_id}"

    @property
    def role_label(self) -> str:
        return role_label(self.role)
