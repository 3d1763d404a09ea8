"""Ship the built-in scaffolds C1-C4 and the 15-prompt demo set."""

from django.db import migrations


def forwards(apps, schema_editor):
    from transcripts.builtin import install_builtins

    install_builtins(
        apps.get_model("transcripts", "Scaffold"),
        apps.get_model("transcripts", "PromptSet"),
        apps.get_model("transcripts", "Prompt"),
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
