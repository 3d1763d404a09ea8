"""The one door to a study's condition-bearing data: it refuses or it records a key view.

Condition-bearing data is anything that tells which condition produced an item: the
sealed condition key, analyses and exports by condition, and, on the generation side,
the run behind the study (its transcripts, endpoints, scaffolds, run card). Every reader
of it, page, API, admin, report or task, calls ``condition_data_open`` first and reads
only if it returns. Nothing else decides who may see conditions, so the rule is in one
place and every read leaves one ``key_view`` Event (who, what, why), which the study
overview shows.

Who may pass, while the study is not unblinded:
- members who must stay blind (lead, adjudicator, coder): refused, always;
- the study's generation operators, and staff who are not members: with a reason;
- anyone else: refused.
Once the study is unblinded: leads, operators and non-member staff (the unblinding
itself recorded why, so a reason is optional), and the system (``by=None``: agreement
snapshots). Coders and adjudicators stay refused: they never need the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coding.models import Event, Membership, Study

from .errors import Forbidden, ServiceError
from .events import event_record

Role = Membership.Role
BLIND_ROLES = (Role.LEAD, Role.CODER, Role.ADJUDICATOR)
MAX_REASON = 500
STAFF = "staff"
SYSTEM = "system"


class Sealed(Forbidden):
    """The reader may not see this study's conditions (it stays blind)."""


class ReasonRequired(ServiceError):
    """The reader may see the conditions of this blinded study, but must say why first."""


@dataclass(frozen=True)
class DoorDecision:
    """What the door would do for a reader, without recording anything."""

    allowed: bool
    needs_reason: bool
    role: str  # membership role, "staff", "system" or "" (outsider)
    message: str


def _role(study: Study, user) -> str:
    if user is None:
        return SYSTEM
    if not getattr(user, "is_authenticated", False):
        return ""
    role = Membership.objects.filter(study=study, user=user).values_list("role", flat=True).first()
    if role:
        return role
    return STAFF if user.is_staff else ""


def condition_access(*, study: Study, user) -> DoorDecision:
    """Whether ``user`` may open the study's condition data, and on what terms (no write)."""
    role = _role(study, user)
    unblinded = study.status == Study.Status.UNBLINDED
    if role in (Role.CODER, Role.ADJUDICATOR) or role == "":
        return DoorDecision(False, False, role, "The conditions of this study are sealed.")
    if role == Role.LEAD:
        if unblinded:
            return DoorDecision(True, False, role, "")
        return DoorDecision(
            False,
            False,
            role,
            "You lead this study, which is not unblinded: its conditions (the key, the "
            "generation run behind it and its run card) stay sealed to you until you "
            "unblind it. A generation operator can answer questions about the run.",
        )
    if role == SYSTEM:
        if unblinded:
            return DoorDecision(True, False, role, "")
        return DoorDecision(False, False, role, "The conditions are sealed until unblinding.")
    # Operator, or staff outside the study.
    if unblinded:
        return DoorDecision(True, False, role, "")
    return DoorDecision(
        True,
        True,
        role,
        "This is condition data of a blinded study. Say why you open it: the view is "
        "recorded with your name and shown to the study's leads.",
    )


def clean_reason(reason: str) -> str:
    """A reason as stored; refuses NUL and over-long text (a 400, never a 500)."""
    reason = (reason or "").strip()
    if "\x00" in reason or len(reason) > MAX_REASON:
        raise ServiceError(f"The reason must be plain text under {MAX_REASON} characters.")
    return reason


def condition_data_open(
    *,
    study: Study,
    by,
    what: str,
    reason: str = "",
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> Event:
    """Pass the door: refuse (``Sealed``/``ReasonRequired``) or record one key view.

    ``what`` names the data read ("condition key", "run 12 transcripts", "analysis");
    ``target`` is the Event target (defaults to ``what``); ``detail`` adds payload keys
    (item codes, row counts). Returns the recorded Event.
    """
    decision = condition_access(study=study, user=by)
    if not decision.allowed:
        raise Sealed(decision.message)
    reason = clean_reason(reason)
    if decision.needs_reason and not reason:
        raise ReasonRequired(decision.message)
    payload = {
        "reason": reason or what,
        "what": what,
        "role": decision.role,
        "blinded": study.status != Study.Status.UNBLINDED,
        **(detail or {}),
    }
    return event_record(
        verb=Event.Verb.KEY_VIEW,
        actor=by,
        study=study,
        target=(target or what)[:200],
        payload=payload,
    )
