"""Invitation helpers: tokens, role names, the pasted invite list, and the email.

Tokens are 256-bit random strings shown once; the database keeps their SHA-256 only (a
fast hash is enough for a secret with that much entropy), so a database dump holds no
usable link.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email

from .models import Invite, Membership, Study
from .models_people import role_label

log = logging.getLogger(__name__)
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
DEFAULT_TTL_DAYS = 14
MAX_TTL_DAYS = 90
MAX_INVITES = 200  # lines per pasted list


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite_for_token(token: str) -> Invite | None:
    """The invitation a link names (in any state), or None for a malformed/unknown token."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    return (
        Invite.objects.select_related("study", "created_by")
        .filter(token_sha256=token_hash(token))
        .first()
    )


def _norm(text: str) -> str:
    return re.sub(r"[\s_-]+", "", text).casefold()


def role_from_text(text: str) -> str | None:
    """A role value from its value or label in any case ("Coder", "adjudicator", ...)."""
    wanted = _norm(text)
    for value, label in Membership.Role.choices:
        if wanted in (_norm(value), _norm(str(label))):
            return value
    return None


@dataclass(frozen=True)
class InviteLine:
    line: int
    email: str
    role: str


def parse_invite_list(text: str, default_role: str) -> tuple[list[InviteLine], list[str]]:
    """``email`` or ``email, role`` per line (comma, semicolon, tab or space between).

    Blank lines and lines starting with ``#`` are skipped. Returns the entries and a
    list of per-line errors (all lines are checked, so every problem is shown at once).
    """
    entries: list[InviteLine] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    lines = (text or "").splitlines()
    if len([ln for ln in lines if ln.strip()]) > MAX_INVITES:
        return [], [f"At most {MAX_INVITES} invitations at a time."]
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p for p in re.split(r"[,;\t ]+", line) if p]
        email = parts[0].strip("<>\"'")
        role_text = " ".join(parts[1:])
        try:
            validate_email(email)
        except ValidationError:
            errors.append(f"Line {number}: {email[:80]!r} is not an email address.")
            continue
        role = role_from_text(role_text) if role_text else default_role
        if role is None:
            names = ", ".join(str(label).lower() for label in Membership.Role.labels)
            errors.append(f"Line {number}: unknown role {role_text[:40]!r} (use one of {names}).")
            continue
        key = email.casefold()
        if key in seen:
            errors.append(f"Line {number}: {email} is already on line {seen[key]}.")
            continue
        seen[key] = number
        entries.append(InviteLine(number, email, role))
    if not entries and not errors:
        errors.append("Paste at least one email address.")
    return entries, errors


def email_configured() -> bool:
    """Email goes out only when the deployment configured a backend (see settings)."""
    return bool(getattr(settings, "INVITE_EMAIL_ENABLED", False))


def send_invite_email(*, invite: Invite, study: Study, link: str, inviter: str) -> bool:
    """Send one invitation; False (and a log line) if it could not be sent."""
    if not email_configured():
        return False
    body = (
        f'{inviter} invited you to join the study "{study.name}" on AlignWeb as '
        f"{role_label(invite.role).lower()}.\n\n"
        f"Open this link to choose a password and start:\n{link}\n\n"
        f"The link works once and expires on {invite.expires_at:%Y-%m-%d %H:%M} UTC.\n"
    )
    try:
        send_mail(
            subject=f"Invitation to {study.name} (AlignWeb)",
            message=body,
            from_email=None,
            recipient_list=[invite.email],
        )
    except Exception:  # noqa: BLE001 - the link is on the page; email is a convenience
        log.warning("invitation email to invite %s failed", invite.pk, exc_info=True)
        return False
    return True
