"""Reads for the blinding check: what coders see, and the hidden fields to predict.

``blinding_inputs`` reads the sealed condition key. Only ``audit.services_blinding``
calls it, from the check task (requested by a lead, logged as an Event) or after
unblinding through ``redaction_rates_read`` (logged as a key view); nothing it returns
leaves the server except as accuracies, p-values and n-grams (before unblinding).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from coding.models import ConditionKey, Item, Study

KEY_FIELDS = ("model", "scaffold", "specification", "replicate")
MAX_METADATA_FIELDS = 20


@dataclass
class BlindingInputs:
    texts: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # the prompt of each item
    redacted: list[bool] = field(default_factory=list)
    fields: dict[str, list[str | None]] = field(default_factory=dict)
    grouped_by_prompt: bool = True


def coder_text(content: dict) -> str:
    """The text a coder reads: every turn of a transcript, or a document's title and text."""
    if "messages" in content:
        return "\n".join(str(m.get("content", "")) for m in content["messages"])
    return f"{content.get('title', '')}\n{content.get('text', '')}"


def items_digest(*, study: Study) -> str:
    """Changes whenever any item of the study is added, removed or re-scrubbed."""
    hashes = Item.objects.filter(study=study).order_by("pk").values_list("pk", "content_sha256")
    digest = hashlib.sha256()
    for pk, sha in hashes.iterator(chunk_size=2000):
        digest.update(f"{pk}:{sha};".encode())
    return digest.hexdigest()


def _plain(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict | list):
        return None  # nested metadata is not a condition label
    return str(value)[:200]


def blinding_inputs(*, study: Study) -> BlindingInputs:
    """Coder-visible text, prompt, redaction flag and hidden fields of every item."""
    inputs = BlindingInputs()
    keys = {
        key.item_id: key
        for key in ConditionKey.objects.filter(item__study=study).only(
            "item_id", "model", "scaffold", "prompt", "specification", "replicate", "metadata"
        )
    }
    items = Item.objects.filter(study=study).order_by("pk").only("pk", "content", "redaction_count")
    rows = []
    metadata_names: dict[str, None] = {}
    for item in items.iterator(chunk_size=1000):
        key = keys.get(item.pk)
        meta = (key.metadata if key else {}) or {}
        for name in meta:
            if len(metadata_names) < MAX_METADATA_FIELDS and name not in KEY_FIELDS:
                metadata_names.setdefault(str(name), None)
        rows.append((item, key, meta))
    prompts = [(key.prompt if key else "") for _, key, _ in rows]
    inputs.grouped_by_prompt = any(prompts)
    for index, (item, _key, _meta) in enumerate(rows):
        inputs.texts.append(coder_text(item.content))
        # Without prompts in the key every item is its own group (plain k-fold).
        inputs.groups.append(prompts[index] if inputs.grouped_by_prompt else f"item-{index}")
        inputs.redacted.append(item.redaction_count > 0)
    for name in KEY_FIELDS:
        inputs.fields[name] = [_plain(getattr(key, name, None)) for _, key, _ in rows]
    for name in metadata_names:
        inputs.fields[name] = [_plain(meta.get(name)) for _, _, meta in rows]
    return inputs
