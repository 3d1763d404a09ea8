"""Scripted coders for the offline demo: rule-based first-pass scores with seeded noise.

Only the demo command uses this. The rules read the scrubbed transcript the way a human
coder would look for each dimension's markers, so scaffold effects in the fake model
server's replies show up in the analysis; per-coder noise (an adjacent level with a
fixed probability) makes agreement high but not perfect, as with real coders.
"""

from __future__ import annotations

import random
import re

MARKERS: dict[str, list[tuple[int, tuple[str, ...]]]] = {
    "D1": [(2, ("need to know", "before i write")), (1, ("i'm assuming", "assumption"))],
    "D2": [(2, ("want me to change", "reorder or drop")), (1, ("my plan", "step 1", "1. pin"))],
    "D3": [(2, ("confidence", "sources", "how to verify")), (1, ("check", "verify", "test"))],
    "D4": [(2, ("answer whichever", "want me to")), (1, ("tell me", "let me know"))],
    "D5": [(2, ("did i understand", "to confirm")), (1, ("if that's wrong", "correct me"))],
    "D6": [(1, ("correction", "i was wrong", "to fix"))],
    "D7": [(1, ("for you", "your situation", "your constraints"))],
    "D8": [(1, ("next steps", "template", "checklist", "copy"))],
}


def rule_value(text: str, code: str) -> int:
    """The level the rules give one dimension for this transcript text."""
    lowered = text.lower()
    for level, phrases in MARKERS.get(code, []):
        if any(phrase in lowered for phrase in phrases):
            return level
    return 0


def scripted_scores(
    *, content: dict, codes: list[str], levels: list[int], coder: str, item: str, noise: float
) -> dict[str, dict]:
    """First-pass values and short rationales for one coder and item (deterministic)."""
    if "messages" in content:
        text = "\n".join(m["content"] for m in content["messages"] if m["role"] == "assistant")
    else:
        text = content.get("text", "")
    rng = random.Random(f"{coder}|{item}")
    values = {}
    for code in codes:
        value = rule_value(text, code)
        if rng.random() < noise:
            value = min(max(levels), max(min(levels), value + rng.choice((-1, 1))))
        opening = (re.split(r"(?<=[.?!])\s", text.strip())[:1] or [""])[0][:80]
        values[code] = {"value": value, "rationale": f"Scripted: level {value}; {opening}"}
    return values
