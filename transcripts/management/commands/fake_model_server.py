"""Serve the fake OpenAI/Anthropic-compatible model server: ``manage.py fake_model_server``."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from transcripts.providers.fake_judge import JUDGE_OUTPUTS
from transcripts.providers.fake_server import FAILURE_KINDS, FakeModelServer, FakeServerConfig


class Command(BaseCommand):
    help = (
        "Run the scripted fake model server (OpenAI /v1/chat/completions, Anthropic /v1/messages)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--latency", type=float, default=0.0, help="Seconds per reply.")
        parser.add_argument(
            "--failure-rate",
            type=float,
            default=0.0,
            help="Share of distinct requests whose first attempt fails (0-1).",
        )
        parser.add_argument(
            "--failure-kinds",
            default="429,500",
            help=f"Comma-separated, from {', '.join(FAILURE_KINDS)}.",
        )
        parser.add_argument("--retry-after", type=float, default=1.0)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--judge-output",
            default="valid",
            choices=JUDGE_OUTPUTS,
            help="Judge mode (requests for rubric scores): valid JSON scores, or bad output.",
        )
        parser.add_argument(
            "--judge-bad-rate",
            type=float,
            default=1.0,
            help="Share of judged items that get the bad output (0-1).",
        )
        parser.add_argument(
            "--judge-bad-attempts",
            type=int,
            default=0,
            help="Bad output for this many calls per item, then valid (0: every call).",
        )
        parser.add_argument(
            "--require-key-env",
            default="",
            help="Name of an environment variable whose value clients must send as the key.",
        )

    def handle(self, *args, **options) -> None:
        import os

        key = os.environ.get(options["require_key_env"]) if options["require_key_env"] else None
        config = FakeServerConfig(
            latency=options["latency"],
            failure_rate=options["failure_rate"],
            failure_kinds=tuple(k.strip() for k in options["failure_kinds"].split(",") if k),
            retry_after=options["retry_after"],
            seed=options["seed"],
            api_key=key,
            judge_output=options["judge_output"],
            judge_bad_rate=options["judge_bad_rate"],
            judge_bad_attempts=options["judge_bad_attempts"],
        )
        server = FakeModelServer(config, host=options["host"], port=options["port"])
        self.stdout.write(
            f"Fake model server on {server.url}\n"
            f"  OpenAI-compatible base URL: {server.openai_base_url}\n"
            f"  Anthropic base URL:         {server.anthropic_base_url}\n"
            f"  Models: {', '.join(config.models or ())}\n"
            "Ctrl-C to stop."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
