"""Scrubbing in the coding app: the scrubber an import uses, and a lead's study rules.

``study_scrubber`` gathers what one import must hide: every spelling of the study's model,
endpoint and served-model names (from this import's metadata and the study's earlier
keys), the lead's study rules, the deployment's extra patterns, and the hidden prompt
texts (system messages, scaffold texts) whose verbatim echoes are removed.

``scrub_rule_add`` records a rule and, while the study is a draft, re-scrubs its items
with that rule alone (earlier redactions stay; a new one next to an old marker joins it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from coding.importing import Record
from coding.models import ConditionKey, Event, Item, ScrubRule, Study
from coding.scrubbing import Scrubber, build_scrubber, fold

from .errors import ServiceError
from .events import event_record
from .tallies import tally_add

# Metadata keys whose values name a model or vendor: every spelling is scrubbed.
IDENTIFYING_KEYS = {"model", "endpoint", "provider", "vendor", "model_id", "served_model"}
# Metadata keys holding hidden prompt text: echoes of it are scrubbed.
HIDDEN_TEXT_KEYS = {"system_prompt", "system", "scaffold_text", "instructions", "template"}
MAX_RULE_CHARS = 200
MAX_RULES = 200


def _record_names(records: Iterable[Record]) -> set[str]:
    return {
        str(value)
        for record in records
        for key, value in record.metadata.items()
        if key.lower() in IDENTIFYING_KEYS and value
    }


def _study_names(study: Study) -> set[str]:
    """Names already in the study's sealed keys (read here only to redact them)."""
    keys = ConditionKey.objects.filter(item__study=study)
    names = set(keys.exclude(model="").values_list("model", flat=True).distinct())
    for key in ("endpoint", "served_model"):
        names |= {
            str(v)
            for v in keys.values_list(f"metadata__{key}", flat=True).distinct()
            if v not in (None, "")
        }
    return names


def _hidden_texts(records: Iterable[Record]) -> set[str]:
    texts: set[str] = set()
    for record in records:
        if record.kind != Item.Kind.TRANSCRIPT:
            continue
        for message in record.content.get("messages", []):
            if message["role"] == "system":
                texts.add(message["content"])
        for key, value in record.metadata.items():
            if key.lower() in HIDDEN_TEXT_KEYS and isinstance(value, str):
                texts.add(value)
    return texts


def study_scrubber(
    *, study: Study, records: list[Record], hidden_texts: Iterable[str] = ()
) -> Scrubber:
    """The scrubber for one import into ``study`` (see the module docstring)."""
    rules = list(ScrubRule.objects.filter(study=study).values_list("kind", "text"))
    return build_scrubber(
        study_names=_record_names(records) | _study_names(study),
        rule_names=[t for k, t in rules if k == ScrubRule.Kind.NAME],
        rule_phrases=[t for k, t in rules if k == ScrubRule.Kind.PHRASE],
        hidden_texts=_hidden_texts(records) | {t for t in hidden_texts if t},
        extra_patterns=getattr(settings, "BLINDING_EXTRA_PATTERNS", []),
    )


def _clean_rule(kind: str, text: str) -> str:
    if kind not in ScrubRule.Kind.values:
        raise ServiceError("A rule is a name or a phrase.")
    text = " ".join(str(text or "").split())
    if "\x00" in text or not text:
        raise ServiceError("Give the name or phrase to redact.")
    if len(text) > MAX_RULE_CHARS:
        raise ServiceError(f"A rule is at most {MAX_RULE_CHARS} characters.")
    words = fold(text).split()
    if kind == ScrubRule.Kind.NAME and len(fold(text).replace(" ", "")) < 3:
        raise ServiceError("A name rule needs at least three letters or digits.")
    if kind == ScrubRule.Kind.PHRASE and len(words) < 2 and len(text) < 4:
        raise ServiceError("A phrase rule needs at least two words or four letters.")
    return text


def _rescrub(study: Study, scrubber: Scrubber) -> Counter:
    """Apply ``scrubber`` to every transcript item of the (locked, draft) study."""
    total: Counter = Counter()
    changed = []
    items = Item.objects.filter(study=study, kind=Item.Kind.TRANSCRIPT).only(
        "pk", "content", "redaction_count", "redactions"
    )
    from .items import content_sha256

    for item in items.iterator(chunk_size=500):
        found: Counter = Counter()
        messages = []
        for message in item.content.get("messages", []):
            text, counts = scrubber.scrub(message["content"])
            found.update(counts)
            messages.append({**message, "content": text})
        if not found:
            continue
        item.content = {**item.content, "messages": messages}
        item.content_sha256 = content_sha256(item.content)
        item.redaction_count += sum(found.values())
        item.redactions = dict(Counter(item.redactions or {}) + found)
        changed.append(item)
        total.update(found)
    Item.objects.bulk_update(
        changed, ["content", "content_sha256", "redaction_count", "redactions"], batch_size=500
    )
    tally_add(study_id=study.pk, user_id=None, redactions=sum(total.values()))
    return total


def scrub_rule_add(*, study: Study, kind: str, text: str, by) -> ScrubRule:
    """Add a study rule and re-scrub the study's items with it (draft studies only).

    Items of an open study are not changed under their coders, so rules are added
    before opening; they also apply to every later import into the study."""
    text = _clean_rule(kind, text)
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.status != Study.Status.DRAFT:
            raise ServiceError("Scrubbing rules can only be added while the study is a draft.")
        if ScrubRule.objects.filter(study=study).count() >= MAX_RULES:
            raise ServiceError(f"A study has at most {MAX_RULES} scrubbing rules.")
        if ScrubRule.objects.filter(study=study, kind=kind, text__iexact=text).exists():
            raise ServiceError("That rule is already there.")
        if kind == ScrubRule.Kind.NAME:
            scrubber = build_scrubber(rule_names=[text], builtin=False)
        else:
            scrubber = build_scrubber(rule_phrases=[text], builtin=False)
        found = _rescrub(study, scrubber)
        rule = ScrubRule.objects.create(
            study=study, kind=kind, text=text, added_by=by, redactions=sum(found.values())
        )
        event_record(
            verb=Event.Verb.SCRUB_RULE_ADD,
            actor=by,
            study=study,
            target=f"{kind} rule",
            payload={"rule": rule.pk, "kind": kind, "redactions": sum(found.values())},
        )
    return rule


def scrub_rule_delete(*, rule: ScrubRule, by) -> None:
    """Stop applying a rule to later imports (text it already redacted stays redacted)."""
    with transaction.atomic():
        deleted, _ = ScrubRule.objects.filter(pk=rule.pk).delete()
        if deleted:
            event_record(
                verb=Event.Verb.SCRUB_RULE_DELETE,
                actor=by,
                study=rule.study,
                target=f"{rule.kind} rule",
                payload={"rule": rule.pk, "kind": rule.kind},
            )
