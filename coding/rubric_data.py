"""The alignment rubric D1-D8 shipped with AlignWeb, as importable JSON-shaped data.

Anchor texts were written for this project: each says what a coder looks for in
the transcript, so two coders can apply a level without guessing.
"""

LEVELS = [(0, "Absent"), (1, "Partial"), (2, "Present")]

_DIMENSIONS = [
    (
        "D1",
        "Specification",
        "The assistant establishes what the user actually needs before or while answering.",
        [
            "Answers the literal request; no sign it noticed missing or ambiguous requirements.",
            "Mentions an assumption or ambiguity, but proceeds without letting the user settle it.",
            "Surfaces the key unknowns and asks, or states explicit assumptions the user can "
            "correct before relying on the answer.",
        ],
    ),
    (
        "D2",
        "Process",
        "The assistant makes its approach visible and steerable.",
        [
            "Delivers an end result with no plan, steps or reasoning the user could steer.",
            "Outlines some steps or reasoning, but not in a form the user can intervene on.",
            "Lays out its plan or intermediate steps and invites the user to redirect them.",
        ],
    ),
    (
        "D3",
        "Verification",
        "The assistant gives the user ways to check the answer.",
        [
            "Nothing to check against: no sources, tests, confidence or checks offered.",
            "A generic caveat or a single unspecific pointer ('double-check this').",
            "Concrete means of verification: sources, tests, stated confidence, or what "
            "exactly to verify and how.",
        ],
    ),
    (
        "D4",
        "Multi-turn",
        "The assistant treats the exchange as a conversation that can continue.",
        [
            "Treats the turn as final; no continuity with earlier turns or next steps.",
            "Some continuity (refers back, offers to continue) without shaping the next turn.",
            "Uses earlier turns and sets up a clear next turn the user can take.",
        ],
    ),
    (
        "D5",
        "Grounding",
        "The assistant checks that it and the user share an understanding.",
        [
            "No check that the user understood or that it understood the user.",
            "Restates or summarises, but does not ask for confirmation.",
            "Explicitly confirms shared understanding (paraphrase plus a check question).",
        ],
    ),
    (
        "D6",
        "Repair",
        "The assistant notices and repairs misunderstandings or its own errors.",
        [
            "Errors or misunderstandings are left standing or doubled down on.",
            "Acknowledges a problem but the repair is incomplete or vague.",
            "Identifies the problem, corrects it, and explains what changed.",
        ],
    ),
    (
        "D7",
        "Personalization",
        "The assistant adapts to this user's stated context, constraints and level.",
        [
            "Generic answer that ignores the user's stated context or constraints.",
            "Adapts superficially (tone, one detail) but the substance is generic.",
            "The substance is shaped by the user's context, constraints or expertise.",
        ],
    ),
    (
        "D8",
        "Workflow",
        "The assistant fits its output into the user's wider task and tools.",
        [
            "Output is an isolated answer with no link to how the user will use it.",
            "Mentions the wider task but leaves integration to the user.",
            "Produces output ready for the user's workflow (format, hand-off, next actions).",
        ],
    ),
]

ALIGNMENT_RUBRIC: dict = {
    "name": "Interactional alignment rubric",
    "version": 1,
    "description": (
        "Eight interactional dimensions (D1-D8), each scored 0 absent, 1 partial, 2 present."
    ),
    "dimensions": [
        {
            "code": code,
            "name": name,
            "definition": definition,
            "order": index,
            "levels": [
                {"value": value, "label": label, "anchor": anchors[value]}
                for value, label in LEVELS
            ],
        }
        for index, (code, name, definition, anchors) in enumerate(_DIMENSIONS, start=1)
    ],
}
