"""Scrubbing coder-facing text of everything that tells where it came from.

Pure Python (no Django). ``build_scrubber`` assembles the rules for one import or
re-scrub: the built-in vendors, model families, self-identification and provider ids,
every spelling of the study's own model/endpoint names, a lead's study rules, the
deployment's ``BLINDING_EXTRA_PATTERNS``, and verbatim echoes of hidden prompt text.
See ``normalize`` (matching after Unicode folding), ``names`` (spelling variants),
``echoes`` (hidden-prompt echoes) and ``engine`` (one uniform marker per redaction).
"""

from __future__ import annotations

from collections.abc import Iterable

from .echoes import DEFAULT_N, EchoIndex
from .engine import ECHO_RULE, MARKER, Scrubber, sentence_bounds
from .normalize import Normalised, fold, normalise
from .rules import (
    MODEL_FAMILIES,
    VENDORS,
    Rule,
    builtin_rules,
    names_rule,
    phrases_rule,
)

__all__ = [
    "DEFAULT_N",
    "ECHO_RULE",
    "MARKER",
    "MODEL_FAMILIES",
    "VENDORS",
    "EchoIndex",
    "Normalised",
    "Rule",
    "Scrubber",
    "build_scrubber",
    "builtin_rules",
    "fold",
    "names_rule",
    "normalise",
    "phrases_rule",
    "sentence_bounds",
]


def build_scrubber(
    *,
    study_names: Iterable[str] = (),
    rule_names: Iterable[str] = (),
    rule_phrases: Iterable[str] = (),
    hidden_texts: Iterable[str] = (),
    extra_patterns: Iterable[str] = (),
    builtin: bool = True,
    echo_words: int = DEFAULT_N,
) -> Scrubber:
    """A scrubber for one study.

    ``study_names``: model, endpoint and served-model names from the import (all their
    spellings are redacted); ``rule_names``/``rule_phrases``: the lead's study rules;
    ``hidden_texts``: system prompts and scaffold texts whose echoes are redacted;
    ``builtin=False`` leaves out the built-in rules (a re-scrub with new study rules).
    """
    rules: list[Rule] = []
    for rule in (
        names_rule("study_model_name", study_names),
        names_rule("study_rule", rule_names),
        phrases_rule("study_rule", rule_phrases),
    ):
        if rule is not None:
            rules.append(rule)
    if builtin:
        builtins = builtin_rules(extra_patterns)
        # Self-identification phrases outrank names so a sentence counts once.
        rules = builtins[:1] + rules + builtins[1:]
    echo = EchoIndex(hidden_texts, n=echo_words)
    return Scrubber(rules, echo=echo if echo else None)
