"""The fake model server's judge mode: rubric scores as JSON, deterministic from the text.

A request whose system prompt carries ``judge_prompt.JUDGE_MARKER`` asks for rubric
scores. The reply scores each dimension the way the demo's scripted coders do (the marker
phrases of ``transcripts.providers.scripted_rules``, read from the assistant turns), then moves some
values one level with a per-dimension, per-model lean (lenient on verification, strict on
process), so human-model agreement is high but not perfect and differs by dimension.

Tests and the fake server's options can ask for bad output instead (``BAD_OUTPUTS``):
``malformed`` (prose, no JSON), ``missing`` (the last dimension left out),
``out_of_range`` (the first dimension one above its top level, the second a word).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from transcripts.providers.scripted_rules import rule_value

from ..judge_prompt import JUDGE_MARKER

BAD_OUTPUTS = ("malformed", "missing", "out_of_range")
JUDGE_OUTPUTS = ("valid", *BAD_OUTPUTS)
# (share of items moved, direction) per dimension; others move +-1 at DEFAULT_LEAN.
LEANS: dict[str, tuple[float, int]] = {"D2": (0.22, -1), "D3": (0.25, 1), "D6": (0.1, 1)}
DEFAULT_LEAN = 0.07


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


def is_judge_request(system: str) -> bool:
    return JUDGE_MARKER in system


def rubric_levels(system: str) -> dict[str, list[int]]:
    """The dimensions and their levels, from the JSON schema line of the instructions."""
    for line in system.splitlines():
        line = line.strip()
        if line.startswith('{"dimensions"'):
            try:
                dims = json.loads(line)["dimensions"]
            except (ValueError, KeyError, TypeError):
                return {}
            return {str(k): sorted(int(v) for v in vals) for k, vals in dims.items()}
    return {}


def _assistant_text(transcript: str) -> str:
    parts = transcript.split("ASSISTANT:\n")
    return "\n".join(parts[1:]) if len(parts) > 1 else transcript


def judge_scores(*, model: str, system: str, transcript: str) -> dict[str, dict[str, Any]]:
    text = _assistant_text(transcript)
    scores = {}
    for code, levels in rubric_levels(system).items():
        if not levels:
            continue
        value = rule_value(text, code)
        share, direction = LEANS.get(code, (DEFAULT_LEAN, 0))
        u = _unit("lean", model, code, text)
        if u < share:
            step = direction or (1 if _unit("dir", model, code, text) < 0.5 else -1)
            value += step
        value = min(max(levels), max(min(levels), value))
        scores[code] = {
            "value": value,
            "rationale": f"Level {value}: judged from the assistant's reply against the "
            f"{code} anchors.",
        }
    return scores


def judge_reply(*, model: str, system: str, transcript: str, output: str = "valid") -> str:
    """The reply text for a judge request (``output``: one of ``JUDGE_OUTPUTS``)."""
    scores = judge_scores(model=model, system=system, transcript=transcript)
    if output == "malformed":
        flat = ", ".join(f"{code}={s['value']}" for code, s in scores.items())
        return f"Sure! Here is my assessment of the transcript: {flat}. Hope this helps."
    if output == "missing" and scores:
        scores.pop(list(scores)[-1])
    if output == "out_of_range" and scores:
        codes = list(scores)
        top = max(rubric_levels(system)[codes[0]])
        scores[codes[0]] = {"value": top + 1, "rationale": "Beyond the top level."}
        if len(codes) > 1:
            scores[codes[1]] = {"value": "high", "rationale": "A word, not a level."}
    return json.dumps({"scores": scores}, indent=1)
