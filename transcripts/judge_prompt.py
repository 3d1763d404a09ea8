"""What a model co-coder is sent, and how its reply is checked. Pure: no Django imports.

The model gets what a human coder gets and nothing more: the rubric (each dimension's
definition and every level's label and anchor text) as instructions, and the item's
coder-visible content (already scrubbed when it was imported) as the user message. No
condition, model, scaffold or run data is ever added.

The reply must be one JSON object ``{"scores": {"D1": {"value": 2, "rationale": "..."}}}``
with every dimension present. ``parse_reply`` separates two kinds of bad output:

* *malformed* (not JSON, not that shape, a dimension missing): the whole reply is unusable;
  the cell retries (with a note saying what was wrong) and then fails with the reason;
* *rejected per dimension* (a value that is not one of that dimension's levels, or not an
  integer): that dimension's score is kept empty with the reason; the others count.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The fake model server's judge mode recognises requests by this sentence.
JUDGE_MARKER = "Return rubric scores as JSON"
PROMPT_VERSION = 1
MAX_RATIONALE = 2000
MAX_REPLY_CHARS = 200_000


@dataclass(frozen=True)
class RubricLevel:
    value: int
    label: str
    anchor: str


@dataclass(frozen=True)
class RubricDimension:
    code: str
    name: str
    definition: str
    levels: tuple[RubricLevel, ...]

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(level.value for level in self.levels)


def instructions(dimensions: Sequence[RubricDimension]) -> str:
    """The system prompt: role, rubric and output format (the same for every item)."""
    lines = [
        "You are one of several independent coders scoring a transcript against a rubric.",
        "Read the transcript in the user message and score each dimension below. Score only "
        "what the transcript shows; apply the level anchors literally.",
        "",
        "Rubric:",
    ]
    for dim in dimensions:
        lines.append(f"{dim.code} {dim.name}: {dim.definition}".rstrip())
        for level in dim.levels:
            lines.append(f"  {level.value} = {level.label}: {level.anchor}".rstrip())
    schema = {"dimensions": {dim.code: list(dim.values) for dim in dimensions}}
    example = {
        "scores": {
            dim.code: {"value": dim.values[0], "rationale": "one or two sentences"}
            for dim in dimensions[:1]
        }
    }
    lines += [
        "",
        f"{JUDGE_MARKER}: reply with one JSON object and nothing else, with a score for "
        "every dimension, each value one of that dimension's levels:",
        json.dumps(schema, sort_keys=True),
        "Shape (every dimension, not only the first): " + json.dumps(example),
    ]
    return "\n".join(lines)


def item_text(content: Mapping[str, Any]) -> str:
    """The coder-visible content as plain text: the turns with their roles, or a document."""
    if isinstance(content.get("messages"), list):
        parts = []
        for message in content["messages"]:
            if isinstance(message, Mapping):
                role = str(message.get("role", "")).upper() or "MESSAGE"
                parts.append(f"{role}:\n{message.get('content', '')}")
        return "\n\n".join(parts)
    title = str(content.get("title") or "")
    text = str(content.get("text") or "")
    return f"{title}\n\n{text}".strip() if title else text


def judge_messages(*, system: str, content: Mapping[str, Any]) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": "Transcript to score:\n\n" + item_text(content)},
    ]


def repair_messages(
    messages: list[dict[str, str]], *, reply: str, problem: str
) -> list[dict[str, str]]:
    """A retry after malformed output: the bad reply and what was wrong with it."""
    return [
        *messages,
        {"role": "assistant", "content": reply[:4000]},
        {
            "role": "user",
            "content": f"That reply could not be used: {problem} Reply again with only the "
            "JSON object, a score for every dimension.",
        },
    ]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def messages_sha256(messages: list[dict[str, str]]) -> str:
    return sha256_text(json.dumps(messages, sort_keys=True))


@dataclass(frozen=True)
class DimensionScore:
    value: int | None
    rationale: str
    rejected: str = ""  # why ``value`` is None


@dataclass(frozen=True)
class ParsedReply:
    """``error`` set: malformed, nothing usable. Else one entry per dimension."""

    error: str = ""
    scores: dict[str, DimensionScore] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def malformed(self) -> bool:
        return bool(self.error)

    @property
    def rejected(self) -> dict[str, str]:
        return {code: s.rejected for code, s in self.scores.items() if s.rejected}


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)


def _json_object(text: str) -> Any:
    text = text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        raise ValueError("the reply contains no JSON object")
    try:
        return json.loads(text[start : end + 1])
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"the reply is not valid JSON ({str(exc)[:80]})") from None


def _value(raw: Any, allowed: Sequence[int]) -> tuple[int | None, str]:
    if isinstance(raw, bool) or raw is None:
        return None, f"{raw!r} is not a level; expected one of {list(allowed)}"
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, int):
        return None, f"{str(raw)[:20]!r} is not an integer level; expected one of {list(allowed)}"
    if raw not in allowed:
        return None, f"{raw} is out of range; expected one of {list(allowed)}"
    return raw, ""


def parse_reply(text: str, dimensions: Sequence[RubricDimension]) -> ParsedReply:
    """Check a judge reply against the rubric (see the module docstring)."""
    if not text or not text.strip():
        return ParsedReply(error="The reply was empty.")
    if len(text) > MAX_REPLY_CHARS:
        return ParsedReply(error=f"The reply is longer than {MAX_REPLY_CHARS} characters.")
    try:
        data = _json_object(text)
    except ValueError as exc:
        return ParsedReply(error=f"Malformed output: {exc}.")
    scores = data.get("scores") if isinstance(data, dict) else None
    if not isinstance(scores, dict):
        return ParsedReply(error='Malformed output: no "scores" object.')
    missing = [d.code for d in dimensions if d.code not in scores]
    if missing:
        return ParsedReply(error="Malformed output: no score for " + ", ".join(missing) + ".")
    out: dict[str, DimensionScore] = {}
    for dim in dimensions:
        entry = scores[dim.code]
        if not isinstance(entry, dict):  # a bare number is accepted as the value
            entry = {"value": entry}
        value, why = _value(entry.get("value"), dim.values)
        rationale = entry.get("rationale")
        rationale = rationale[:MAX_RATIONALE] if isinstance(rationale, str) else ""
        out[dim.code] = DimensionScore(value, rationale.replace("\x00", ""), why)
    known = {d.code for d in dimensions}
    extra = sorted(str(code)[:20] for code in scores if code not in known)
    notes = (f"Ignored unknown dimensions: {', '.join(extra[:10])}",) if extra else ()
    return ParsedReply(scores=out, notes=notes)
