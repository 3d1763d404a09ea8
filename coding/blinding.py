"""Scrub model self-identification from coder-facing text, counting each redaction.

Pure Python (no Django): rules are (name, compiled pattern) pairs. The defaults cover
major model families and vendors, "As an AI developed by ..." phrases and provider
request ids; studies add their own model names, and deployments add patterns through
the BLINDING_EXTRA_PATTERNS setting.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

REDACTED = "[redacted]"

# AI vendors only: words such as "Amazon" or "Microsoft" occur in ordinary answers, and
# redacting them would change what coders judge. Deployments add more via settings.
VENDORS = [
    "OpenAI", "Anthropic", "Google DeepMind", "DeepMind", "Google AI", "Google", "Meta AI",
    "Mistral AI", "Cohere", "xAI", "DeepSeek", "Alibaba Cloud", "Moonshot AI", "Zhipu AI",
    "AI21 Labs", "Inflection AI", "Hugging Face",
]  # fmt: skip
# Distinctive family names; bare words like "Sonnet", "Haiku" or "Pi" are left alone
# because prompts use them in their ordinary sense.
MODEL_FAMILIES = [
    r"Chat\s?GPT", r"GPT-?\d[\w.\-]*", r"GPT", r"o[134](?:-mini|-pro|-preview)",
    r"Claude(?:[\s-](?:\d[\w.\-]*|Opus|Sonnet|Haiku|Instant))*", r"Gemini(?:[\s-]\d[\w.\-]*)?",
    r"Gemma[\w.\-]*", r"Llama[\s-]?\d[\w.\-]*", r"LLaMA[\w.\-]*", r"Mixtral[\w.\-]*",
    r"Mistral[\w.\-]*", r"Codestral", r"Qwen[\w.\-]*", r"Grok[\w.\-]*", r"Command[\s-]R\+?",
    r"Phi-\d[\w.\-]*", r"DeepSeek[\w.\-]*", r"GLM-?\d[\w.\-]*", r"PaLM(?: ?2)?", r"Bard",
]  # fmt: skip

_SELF_ID = (
    r"\b(?:As|I am|I'm|I’m)\s+(?:an?\s+)?(?:AI|artificial intelligence|large language model|"
    r"language model|LLM|assistant|chatbot)(?:\s+(?:language\s+)?(?:model|assistant))?\s*,?\s*"
    r"(?:developed|created|trained|made|built|designed|provided)\s+by\s+[\w.\- ]{1,40}?"
    r"(?=[,.;:!?\n]|$)"
)


def _word_alternation(words: Iterable[str]) -> str:
    # Longest first so "Google DeepMind" wins over "Google".
    ordered = sorted(set(words), key=len, reverse=True)
    return r"(?<![\w\-])(?:" + "|".join(ordered) + r")(?![\w\-])"


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    word_start: bool = True  # matches only begin at the start of a word


def default_rules(extra_patterns: Iterable[str] = ()) -> list[Rule]:
    """Rules applied in order: phrases before names, so a phrase counts once."""
    rules = [
        Rule("self_identification", re.compile(_SELF_ID, re.IGNORECASE)),
        Rule("provider_id", re.compile(r"\b(?:chatcmpl|msg|req|resp|run|cmpl)[-_][A-Za-z0-9]{6,}")),
        Rule("vendor", re.compile(_word_alternation(re.escape(v) for v in VENDORS))),
        Rule("model_family", re.compile(_word_alternation(MODEL_FAMILIES), re.IGNORECASE)),
    ]
    for index, pattern in enumerate(extra_patterns):
        rules.append(
            Rule(f"custom_{index + 1}", re.compile(pattern, re.IGNORECASE), word_start=False)
        )
    return rules


def literal_rule(name: str, values: Iterable[str]) -> Rule | None:
    """A rule matching literal values (e.g. a study's own model names), case-insensitive."""
    distinct = {v.strip() for v in values if v and len(v.strip()) >= 3}
    cleaned = sorted(distinct, key=len, reverse=True)
    if not cleaned:
        return None
    return Rule(name, re.compile(_word_alternation(re.escape(v) for v in cleaned), re.IGNORECASE))


@dataclass
class Scrubber:
    """Applies all rules in one pass: a combined pattern with one named group per rule.

    At any position the earliest rule in the list wins (regex alternation order), so a
    self-identification phrase is counted once rather than once per name inside it.
    """

    rules: list[Rule]
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        parts = []
        for index, rule in enumerate(self.rules):
            flags = "i" if rule.pattern.flags & re.IGNORECASE else "-i"
            parts.append(f"(?P<r{index}>(?{flags}:{rule.pattern.pattern}))")
        # Every built-in rule starts at the start of a word: rejecting other positions with
        # one cheap look-behind first makes the single pass several times faster.
        prefix = r"(?<![\w\-])(?=\w)" if all(r.word_start for r in self.rules) else ""
        self._combined = re.compile(prefix + "(?:" + "|".join(parts) + ")")
        self._names = {f"r{i}": rule.name for i, rule in enumerate(self.rules)}

    def scrub(self, text: str) -> tuple[str, Counter]:
        """Return the scrubbed text and the redactions made in it, by rule name."""
        found: Counter = Counter()

        def replace(match: re.Match[str]) -> str:
            found[self._names[match.lastgroup or ""]] += 1
            return REDACTED

        text = self._combined.sub(replace, text)
        self.counts.update(found)
        return text, found
