"""The scrubbing rules: built-in vendors, model families, self-identification and
provider ids, plus the per-study names, phrases and deployment patterns.

Every pattern runs on folded text (see ``normalize``), so it is written in lower case
and need not list case, width or look-alike variants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .names import names_alternation, phrase_pattern

# AI vendors only: words such as "Amazon" or "Microsoft" occur in ordinary answers, and
# redacting them would change what coders judge. Deployments add more via settings.
VENDORS = [
    "OpenAI", "Anthropic", "Google DeepMind", "DeepMind", "Google AI", "Google", "Meta AI",
    "Mistral AI", "Cohere", "xAI", "DeepSeek", "Alibaba Cloud", "Moonshot AI", "Zhipu AI",
    "AI21 Labs", "Inflection AI", "Hugging Face",
]  # fmt: skip
# Vendors whose bare name is also an English word ("google it", "the ideas cohere"): these
# match in any spelling only when written with a capital. "google deepmind" and the other
# vendors match in any case.
CAPITALISED_VENDORS = ["Google", "Cohere"]
# Distinctive family names; bare words like "Sonnet", "Haiku" or "Pi" are left alone
# because prompts use them in their ordinary sense.
MODEL_FAMILIES = [
    r"chat[\s_.\-]?gpt", r"gpt[\s_.\-]?\d[\w.\-]*", r"gpt", r"o[134](?:-mini|-pro|-preview)",
    r"claude(?:[\s\-](?:\d[\w.\-]*|opus|sonnet|haiku|instant))*", r"gemini(?:[\s\-]\d[\w.\-]*)?",
    r"gemma[\w.\-]*", r"llama[\s\-]?\d[\w.\-]*", r"llama[\w.\-]*", r"mixtral[\w.\-]*",
    r"mistral[\w.\-]*", r"codestral", r"qwen[\w.\-]*", r"grok[\w.\-]*", r"command[\s\-]r\+?",
    r"phi-\d[\w.\-]*", r"deepseek[\w.\-]*", r"glm-?\d[\w.\-]*", r"palm(?: ?2)?", r"bard",
]  # fmt: skip
# Request and object ids of the OpenAI and Anthropic APIs. The id part must hold a digit:
# "run_migrations" or "resp_handler" in a code answer are not ids.
PROVIDER_ID = (
    r"(?:chatcmpl|cmpl|msg|msgbatch|req|resp|run|asst|thread|toolu|call|batch|file|fp)"
    r"[-_](?=[a-z0-9]*\d)[a-z0-9]{6,}"
)

_MADE = r"(?:developed|created|trained|made|built|designed|provided|produced|engineered|released)"
_AI = (
    r"(?:ai|artificial intelligence|large language model|language model|llm|assistant|"
    r"chatbot|chat bot|model)"
)
# "As an AI developed by X", "I am a large language model trained by X", "I was made by X":
# a claim of origin, whatever the vendor's name.
SELF_ID_PHRASE = (
    rf"(?:(?:as|i am|i'm|im)\s+(?:an?\s+|the\s+)?(?:[a-z\-]+\s+){{0,3}}?{_AI}"
    rf"(?:\s+(?:language\s+)?(?:model|assistant))?\s*,?\s*(?:[a-z]+\s+)?{_MADE}\s+(?:by|at)|"
    rf"i\s+(?:was|am|have been|'ve been)\s+(?:[a-z]+\s+)?{_MADE}\s+(?:by|at))(?![a-z0-9])"
)
# What comes right before a name when a reply names itself.
_CUE = (
    r"(?:i'm|i am|im|my name is|my name's|this is|call me|i'm called|i am called|"
    r"you're (?:talking|chatting|speaking) (?:to|with)|you are (?:talking|chatting|speaking) "
    rf"(?:to|with)|i (?:was|am|have been) (?:[a-z]+ )?{_MADE} by|i'm (?:[a-z]+ )?{_MADE} by|"
    r"i (?:come|am) from|i'm from|i'm part of|i am part of|i'm powered by|i am powered by|"
    r"i run on|i'm running on|i am running on|i'm based on|i am based on)"
)


@dataclass(frozen=True)
class Rule:
    """``kind``: "name" (a name: also feeds the self-identification cues), "sentence"
    (a self-identification: its whole sentence is redacted), "term" (just the match),
    "custom" (a deployment's own regular expression, not bounded by word edges)."""

    name: str
    pattern: str
    kind: str = "term"
    capital: bool = False  # only where the original text starts the match with a capital

    @property
    def bounded(self) -> bool:
        return self.kind != "custom"


def _vendor_pattern() -> str:
    plain = [v for v in VENDORS if v not in CAPITALISED_VENDORS]
    return names_alternation(plain, family=False) or ""


def builtin_rules(extra_patterns: Iterable[str] = ()) -> list[Rule]:
    """Rules every study gets, in priority order; deployments add ``extra_patterns``."""
    rules = [
        Rule("self_identification", SELF_ID_PHRASE, "sentence"),
        Rule("provider_id", PROVIDER_ID),
        Rule("vendor", _vendor_pattern(), "name"),
        Rule("vendor", names_alternation(CAPITALISED_VENDORS, family=False) or "", "name", True),
        Rule("model_family", "(?:" + "|".join(MODEL_FAMILIES) + ")", "name"),
    ]
    for index, pattern in enumerate(extra_patterns):
        re.compile(pattern)  # fail loudly on a bad setting, not on the first import
        rules.append(Rule(f"custom_{index + 1}", pattern, "custom"))
    return rules


def names_rule(name: str, values: Iterable[str]) -> Rule | None:
    """All spellings of the given model/endpoint/vendor names (family token included)."""
    pattern = names_alternation(v for v in values if v and len(str(v).strip()) >= 3)
    return Rule(name, pattern, "name") if pattern else None


def phrases_rule(name: str, phrases: Iterable[str]) -> Rule | None:
    """Literal phrases (a lead's rules from the blinding check), words in order."""
    patterns = sorted({p for ph in phrases if (p := phrase_pattern(ph))}, key=len, reverse=True)
    return Rule(name, "(?:" + "|".join(patterns) + ")") if patterns else None


# After a name: "Borealis here, ..." names itself (checked after a name rule matched, so
# the long name alternation is not tried twice at every word).
NAME_HERE = re.compile(r"\s+here(?![a-z0-9])")


def self_id_rules(name_patterns: list[str]) -> list[Rule]:
    """Self-identification by name: "I'm X", "As X, I ...": whole sentence (and "X here",
    see ``NAME_HERE``)."""
    if not name_patterns:
        return []
    names = "(?:" + "|".join(name_patterns) + r")(?![a-z0-9])"
    article = r"(?:an?\s+|the\s+)?"
    return [
        Rule("self_identification", rf"{_CUE}\s+{article}{names}", "sentence"),
        Rule(
            "self_identification",
            rf"as\s+{article}{names}(?:'s)?(?:\s+(?:model|assistant|ai))?\s*,?\s*"
            r"(?:i|i'm|i am|my|we|let me)(?![a-z0-9])",
            "sentence",
        ),
    ]
