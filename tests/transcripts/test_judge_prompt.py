"""The judge's instructions and the reply check (pure: no database, no server)."""

from __future__ import annotations

import json

import pytest

from transcripts.judge_prompt import (
    JUDGE_MARKER,
    RubricDimension,
    RubricLevel,
    instructions,
    item_text,
    judge_messages,
    parse_reply,
)
from transcripts.providers.fake_judge import judge_reply, rubric_levels
from transcripts.providers.fake_server import FakeServerConfig

LEVELS = (RubricLevel(0, "Absent", "none"), RubricLevel(1, "Partial", "some"))
DIMS = [
    RubricDimension(
        "D1", "Spec", "Asks what is needed.", LEVELS + (RubricLevel(2, "Present", "asks"),)
    ),
    RubricDimension("D2", "Process", "Shows a plan.", LEVELS),
]


def reply(**scores) -> str:
    return json.dumps({"scores": scores})


def test_instructions_carry_the_rubric_and_the_schema():
    text = instructions(DIMS)
    assert JUDGE_MARKER in text and "D1 Spec: Asks what is needed." in text
    assert "  2 = Present: asks" in text
    assert rubric_levels(text) == {"D1": [0, 1, 2], "D2": [0, 1]}


def test_the_item_is_sent_as_coders_see_it():
    content = {
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]
    }
    assert item_text(content) == "USER:\nHi\n\nASSISTANT:\nYo"
    assert item_text({"title": "Bench", "text": "About it"}) == "Bench\n\nAbout it"
    messages = judge_messages(system="S", content=content)
    assert [m["role"] for m in messages] == ["system", "user"]


def test_valid_reply_fenced_or_bare_values():
    ok = parse_reply(
        "```json\n" + reply(D1={"value": 2, "rationale": "asks"}, D2=1.0) + "\n```", DIMS
    )
    assert not ok.malformed
    assert ok.scores["D1"].value == 2 and ok.scores["D1"].rationale == "asks"
    assert ok.scores["D2"].value == 1 and not ok.rejected
    prose = parse_reply("Here you go: " + reply(D1=0, D2=0, D9=1) + " Thanks!", DIMS)
    assert not prose.malformed and prose.notes == ("Ignored unknown dimensions: D9",)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "empty"),
        ("D1=2, D2=1", "no JSON object"),
        ('{"scores": {"D1": 2,', "no JSON object"),
        ("[1, 2]", 'no "scores" object'),
        ('{"scores": [1, 2]}', 'no "scores" object'),
        (reply(D1=2), "no score for D2"),
        ("{" * 5000 + "}" * 5000, "not valid JSON"),
    ],
)
def test_malformed_replies(text, error):
    parsed = parse_reply(text, DIMS)
    assert parsed.malformed and error in parsed.error


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (3, "3 is out of range; expected one of [0, 1, 2]"),
        (-1, "-1 is out of range"),
        (1.5, "not an integer level"),
        ("2", "not an integer level"),
        (True, "is not a level"),
        (None, "is not a level"),
    ],
)
def test_out_of_range_is_rejected_for_that_dimension_only(value, reason):
    parsed = parse_reply(reply(D1={"value": value, "rationale": "r"}, D2=1), DIMS)
    assert not parsed.malformed
    assert parsed.scores["D1"].value is None and reason in parsed.scores["D1"].rejected
    assert parsed.scores["D2"].value == 1 and list(parsed.rejected) == ["D1"]


def test_fake_judge_outputs():
    system = instructions(DIMS)
    transcript = "USER:\nx\n\nASSISTANT:\nBefore I write anything, a few things I need to know"
    good = parse_reply(judge_reply(model="m", system=system, transcript=transcript), DIMS)
    assert good.scores["D1"].value in (1, 2) and not good.rejected
    bad = judge_reply(model="m", system=system, transcript=transcript, output="out_of_range")
    assert set(parse_reply(bad, DIMS).rejected) == {"D1", "D2"}
    missing = judge_reply(model="m", system=system, transcript=transcript, output="missing")
    assert "no score for D2" in parse_reply(missing, DIMS).error
    with pytest.raises(ValueError, match="judge_output"):
        FakeServerConfig(judge_output="weird")
