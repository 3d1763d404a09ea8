"""The Event log in words: a label per action and a one-line summary of each payload.

Payloads are written by many services; every known action gets a sentence, anything else
falls back to "key: value" pairs with readable values (never a Python dict's repr).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .invites import role_label
from .models import Event

MAX_TEXT = 300


def label(verb: str) -> str:
    """The words for an action (Event.Verb's label; unknown verbs spelt out)."""
    if verb in Event.Verb.values:
        return str(Event.Verb(verb).label)
    return verb.replace("_", " ").capitalize()


def _text(value: Any) -> str:
    """A payload value as a person reads it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        shown = ", ".join(_text(v) for v in value[:12])
        return shown + (f" and {len(value) - 12} more" if len(value) > 12 else "")
    if isinstance(value, dict):
        return "; ".join(f"{_key(k)} {_text(v)}" for k, v in value.items()) or "—"
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _key(name: Any) -> str:
    return str(name).replace("_", " ")


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass
class Described:
    summary: str
    notes: list[tuple[str, str]] = field(default_factory=list)  # (label, text), e.g. a note


def _generic(p: dict) -> Described:
    return Described("; ".join(f"{_key(k)}: {_text(v)}" for k, v in p.items()))


def _study_create(p: dict) -> Described:
    return Described(f"Rubric {_text(p.get('rubric'))}, k = {p.get('k')}, seed {p.get('seed')}")


def _import(p: dict) -> Described:
    rules = p.get("by_rule") or {}
    detail = ", ".join(f"{_key(k)} {v}" for k, v in rules.items())
    text = f"{_plural(p.get('items', 0), 'item')}, {_plural(p.get('redactions', 0), 'redaction')}"
    return Described(text + (f" ({detail})" if detail else ""))


def _reconcile(p: dict) -> Described:
    text = f"Final value {p.get('value')} ({_text(p.get('method'))})"
    old = p.get("replaces")
    if isinstance(old, dict):
        who = old.get("decided_by__username") or "auto-agree"
        text += f"; replaces {old.get('value')} ({_text(old.get('method'))}, {who})"
    notes = [("Note", _text(p["note"]))] if p.get("note") else []
    return Described(text, notes)


def _lock(p: dict) -> Described:
    if p.get("override"):
        text = (
            f"With override: {_plural(p.get('items_incomplete', 0), 'item')} incomplete, "
            f"{_plural(p.get('cells_unreconciled', 0), 'cell')} unreconciled"
        )
    else:
        text = f"{_plural(p.get('items', 0), 'item')}, all coded and reconciled"
    return Described(text, [("Reason", _text(p["reason"]))] if p.get("reason") else [])


def _key_view(p: dict) -> Described:
    parts = [f"Reason: {_text(p.get('reason'))}"]
    items = p.get("items")
    if isinstance(items, list):
        parts.append(f"{_plural(len(items), 'item')}: {_text(items)}")
    elif items is not None:
        parts.append(_plural(items, "item"))
    for extra in ("purpose", "scope", "rows"):
        if p.get(extra) is not None:
            parts.append(f"{_key(extra)}: {_text(p[extra])}")
    return Described("; ".join(parts))


def _removal(p: dict) -> Described:
    text = f"{role_label(str(p.get('role', '')))}; {_plural(p.get('reassigned', 0), 'open item')}"
    text += f" handed to {p['replaced_by']}" if p.get("replaced_by") else " reassigned"
    text += f"; {p.get('submitted_kept', 0)} submitted kept (marked)"
    if p.get("drafts_discarded"):
        text += f"; {_plural(p['drafts_discarded'], 'draft')} discarded"
    return Described(text, [("Reason", _text(p["reason"]))] if p.get("reason") else [])


DESCRIBERS: dict[str, Callable[[dict], Described]] = {
    "study_create": _study_create,
    "member_add": lambda p: Described(f"As {role_label(str(p.get('role', ''))).lower()}"),
    "invite_create": lambda p: Described(
        f"{_text(p.get('invited'))}; links valid {p.get('expires_days')} days"
        + (f"; replaces {_plural(p['replaced'], 'earlier link')}" if p.get("replaced") else "")
    ),
    "invite_renew": lambda p: Described(
        f"New link as {role_label(str(p.get('role', ''))).lower()}, "
        f"valid {p.get('expires_days')} days"
    ),
    "invite_revoke": lambda p: Described(f"Was {role_label(str(p.get('role', ''))).lower()}"),
    "invite_accept": lambda p: Described(
        f"{_text(p.get('email'))} joined as {role_label(str(p.get('role', ''))).lower()}"
    ),
    "member_remove": _removal,
    "member_replace": _removal,
    "import": _import,
    "assign": lambda p: Described(_plural(p.get("assignments", 0), "assignment")),
    "study_open": lambda p: Described("Rubric frozen; every item assigned"),
    "submit": lambda p: Described(
        f"First-pass scores locked (hash {str(p.get('scores_sha256', ''))[:12]}…)"
    ),
    "reconcile_auto": lambda p: Described(
        f"{_plural(p.get('agreed', 0), 'cell')} where every coder gave the same value"
    ),
    "reconcile": _reconcile,
    "study_lock": _lock,
    "unblind": lambda p: Described(
        "Condition key readable by leads", [("Reason", _text(p.get("reason")))]
    ),
    "key_view": _key_view,
    "export": lambda p: Described(_generic(p).summary or "Download"),
    "claim_edit": lambda p: Described(
        f"Claim level {_text(p.get('claim_level'))}; deployment context "
        + ("set" if p.get("context_set") else "not set")
    ),
}


@dataclass
class EventRow:
    event: Event
    label: str
    summary: str
    notes: list[tuple[str, str]]


def describe(event: Event) -> EventRow:
    payload = event.payload if isinstance(event.payload, dict) else {"value": event.payload}
    try:
        described = DESCRIBERS.get(event.verb, _generic)(payload)
    except (TypeError, ValueError, KeyError, AttributeError):
        described = _generic(payload)  # an old or odd payload still reads
    return EventRow(event, label(event.verb), described.summary, described.notes)
