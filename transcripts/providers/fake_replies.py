"""Scripted, deterministic replies for the fake model server.

Each fictional model has a profile: how strongly it follows each kind of scaffold
guidance (specification, process, verification) and how often it names itself or a
vendor, so the coding app's scrubbing has something to redact. The same request always
gets the same reply; different models, scaffolds, prompts and seeds get different ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    served_as: str
    spec: float  # 0..1: how reliably it surfaces requirements when asked to
    process: float  # ... exposes a steerable plan
    verify: float  # ... gives concrete ways to check the answer
    self_id_rate: float
    self_ids: tuple[str, ...]
    voice: str  # opening style


PROFILES: dict[str, Profile] = {
    "atlas-7b": Profile(
        served_as="atlas-7b-2025-06-01",
        spec=0.35,
        process=0.3,
        verify=0.4,
        self_id_rate=0.35,
        self_ids=("As an AI developed by OpenAI, I", "As ChatGPT, I"),
        voice="Sure.",
    ),
    "borealis-70b": Profile(
        served_as="borealis-70b-instruct",
        spec=0.95,
        process=0.9,
        verify=0.9,
        self_id_rate=0.3,
        self_ids=("I'm Claude, an AI assistant made by Anthropic, and I", "As Claude, I"),
        voice="Happy to help with this.",
    ),
    "cirrus-mini": Profile(
        served_as="cirrus-mini-0613",
        spec=0.65,
        process=0.6,
        verify=0.55,
        self_id_rate=0.25,
        self_ids=("As a large language model trained by Google, I", "As Gemini, I"),
        voice="Here's what I'd suggest.",
    ),
}
DEMO_MODELS: tuple[str, ...] = tuple(PROFILES)
GENERIC = Profile(
    served_as="",
    spec=0.5,
    process=0.5,
    verify=0.5,
    self_id_rate=0.0,
    self_ids=(),
    voice="Here is an answer.",
)

SPEC_WORDS = ("clarif", "assumption", "requirement")
PROCESS_WORDS = ("numbered plan", "your approach", "steps you will take")
VERIFY_WORDS = ("verif", "confidence", "sources")


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


def _level(strength: float, *key: object) -> int:
    """0 absent, 1 partial, 2 present: strong followers are mostly 2, weak ones mostly 0."""
    u = _unit(*key)
    if u < strength * 0.75:
        return 2
    if u < strength * 0.75 + 0.35:
        return 1
    return 0


def _topic(prompt: str) -> str:
    first = prompt.strip().split("\n")[0].rstrip(".?!")
    words = first.split()
    short = " ".join(words[:14]) + ("..." if len(words) > 14 else "")
    return short[:1].lower() + short[1:] if short else "your request"


def _answer(topic: str, u: float) -> list[str]:
    openers = [
        f"Here is a first version for {topic}:",
        f"A workable approach to {topic}:",
        f"This is how I would handle {topic}:",
    ]
    body = [
        "- Start from the core goal and keep the first version small.",
        "- Cover the common case first, then the edge cases.",
        "- Keep the result easy to adjust once you see it.",
    ]
    return [openers[int(u * len(openers))], *body]


def scripted_reply(*, model: str, system: str, prompt: str, seed: int | None = None) -> str:
    """The reply ``model`` gives to ``prompt`` under the ``system`` scaffold text."""
    profile = PROFILES.get(model, GENERIC)
    sys_text = system.lower()
    key = (model, prompt, seed)
    detailed = len(prompt.split()) > 30  # a fully specified prompt leaves less to ask
    topic = _topic(prompt)
    lines: list[str] = []
    if _unit("self-id", *key) < profile.self_id_rate:
        who = profile.self_ids[int(_unit("who", *key) * len(profile.self_ids))]
        lines.append(f"{who} can help with that.")
    else:
        lines.append(profile.voice)

    spec = _level(profile.spec, "spec", *key) if any(w in sys_text for w in SPEC_WORDS) else 0
    if spec == 2 and not detailed:
        lines += [
            "Before I write anything, a few things I need to know:",
            "1. Who is this for, and what will they do with it?",
            "2. Are there constraints I should respect (length, budget, tools, deadline)?",
            "3. What does a good result look like to you?",
            "Answer whichever you can; I'll state assumptions for the rest.",
        ]
        return "\n".join(lines)
    if spec >= 1:
        lines.append(
            "I'm assuming a general audience and no hard constraints; tell me if that's wrong."
            if spec == 1 or detailed
            else ""
        )

    process = (
        _level(profile.process, "process", *key) if any(w in sys_text for w in PROCESS_WORDS) else 0
    )
    if process >= 1:
        lines += [
            "My plan:",
            "1. Pin down the goal and constraints.",
            "2. Draft the main part.",
            "3. Refine the details and check the result.",
        ]
        if process == 2:
            lines.append("Want me to change, reorder or drop any step before I continue?")

    lines += _answer(topic, _unit("answer", *key))

    verify = (
        _level(profile.verify, "verify", *key) if any(w in sys_text for w in VERIFY_WORDS) else 0
    )
    if verify == 2:
        lines += [
            "How to check this:",
            "- Sources: compare against the official documentation or a primary reference.",
            "- Test: try it on two or three concrete cases where you know the right outcome.",
            "- Confidence: medium; the general approach is standard, the specifics depend on "
            "details you haven't given me. Verify the numbers and names before relying on them.",
        ]
    elif verify == 1:
        lines.append("You may want to double-check this before using it.")
    return "\n".join(line for line in lines if line)
