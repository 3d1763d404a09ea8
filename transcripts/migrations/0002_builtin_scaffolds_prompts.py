"""Ship the built-in scaffolds C1-C4 and the 15-prompt demo set."""

import hashlib

from django.db import migrations


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def forwards(apps, schema_editor):
    from transcripts.builtin import DEMO_PROMPT_SET, DEMO_PROMPTS, SCAFFOLDS

    Scaffold = apps.get_model("transcripts", "Scaffold")
    PromptSet = apps.get_model("transcripts", "PromptSet")
    Prompt = apps.get_model("transcripts", "Prompt")
    for data in SCAFFOLDS:
        Scaffold.objects.get_or_create(
            code=data["code"],
            version=1,
            defaults={
                "name": data["name"],
                "description": data["description"],
                "system_prompt": data["system_prompt"],
                "sha256": _sha(data["system_prompt"]),
                "target_dimensions": data["target_dimensions"],
                "builtin": True,
            },
        )
    prompt_set, _ = PromptSet.objects.get_or_create(
        name=DEMO_PROMPT_SET["name"],
        defaults={"description": DEMO_PROMPT_SET["description"], "builtin": True},
    )
    for code, spec, text in DEMO_PROMPTS:
        Prompt.objects.get_or_create(
            prompt_set=prompt_set,
            code=code,
            version=1,
            defaults={"text": text, "specification": spec, "sha256": _sha(text)},
        )


def backwards(apps, schema_editor):
    from transcripts.builtin import DEMO_PROMPT_SET

    apps.get_model("transcripts", "PromptSet").objects.filter(
        name=DEMO_PROMPT_SET["name"], builtin=True, runs__isnull=True
    ).delete()
    apps.get_model("transcripts", "Scaffold").objects.filter(
        builtin=True, version=1, runs__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("transcripts", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
