"""Seed the Benchmark registry with the evaluations the reference audit dual-coded.

Facts and citations only: authors, year, venue or arXiv id, and a neutral description
of what the benchmark asks of a model and how it is scored, for coders to read. No
scores are shipped, and the claim level is left for the lead to classify (it is a
judgement, not a bibliographic fact). A field we could not verify is left blank.
"""

from django.db import migrations

BENCHMARKS = [
    {
        "name": "TruthfulQA",
        "year": 2022,
        "citation": "Lin, S., Hilton, J., Evans, O. TruthfulQA: Measuring How Models Mimic "
        "Human Falsehoods. ACL 2022. arXiv:2109.07958.",
        "url": "https://arxiv.org/abs/2109.07958",
        "description": "Single questions written so that a common misconception or false "
        "belief is a tempting answer. A model answers each question once, without "
        "conversation; answers are judged for truthfulness and informativeness (by human "
        "raters or a trained judge model), and a multiple-choice variant scores the "
        "likelihood the model assigns to true and false reference answers.",
    },
    {
        "name": "IFEval",
        "year": 2023,
        "citation": "Zhou, J., Lu, T., Mishra, S., Brahma, S., Basu, S., Luan, Y., Zhou, D., "
        "Hou, L. Instruction-Following Evaluation for Large Language Models. "
        "arXiv:2311.07911 (2023).",
        "url": "https://arxiv.org/abs/2311.07911",
        "description": "About 500 single-turn prompts, each carrying one or more "
        "verifiable formatting or content instructions (for example a minimum length, a "
        "required keyword, or a JSON answer). Compliance is checked by deterministic "
        "programs, per prompt and per instruction, in strict and loose variants; no judge "
        "model or human rater is involved.",
    },
    {
        "name": "MT-Bench",
        "year": 2023,
        "citation": "Zheng, L., Chiang, W.-L., Sheng, Y., et al. Judging LLM-as-a-Judge with "
        "MT-Bench and Chatbot Arena. NeurIPS 2023 Datasets and Benchmarks. "
        "arXiv:2306.05685.",
        "url": "https://arxiv.org/abs/2306.05685",
        "description": "A fixed set of two-turn questions across categories such as "
        "writing, reasoning, coding and extraction. The second user turn is scripted in "
        "advance, so it does not react to the model's first answer. Responses are graded "
        "by a strong language model acting as judge, either on a numeric scale or in "
        "pairwise comparison.",
    },
    {
        "name": "Chatbot Arena",
        "year": 2024,
        "citation": "Chiang, W.-L., Zheng, L., Sheng, Y., et al. Chatbot Arena: An Open "
        "Platform for Evaluating LLMs by Human Preference. ICML 2024. arXiv:2403.04132.",
        "url": "https://arxiv.org/abs/2403.04132",
        "description": "A public web platform where visitors write their own prompts, see "
        "answers from two anonymous models side by side, and vote for the better one. "
        "Votes are aggregated into a ranking with a Bradley-Terry style model. Prompts "
        "and conversations come from the visitors themselves; the vote records a "
        "preference, not the reason for it.",
    },
    {
        "name": "Arena-Hard",
        "year": 2024,
        "citation": "Li, T., Chiang, W.-L., Frick, E., Dunlap, L., Wu, T., Zhu, B., Gonzalez, "
        "J. E., Stoica, I. From Crowdsourced Data to High-Quality Benchmarks: Arena-Hard "
        "and BenchBuilder Pipeline. arXiv:2406.11939 (2024); ICML 2025.",
        "url": "https://arxiv.org/abs/2406.11939",
        "description": "A static set of 500 challenging single prompts selected "
        "automatically from crowdsourced Chatbot Arena conversations (Arena-Hard-Auto). "
        "Each model's answer is compared with a fixed baseline model's answer by a "
        "language-model judge, and the pairwise judgements are aggregated into scores "
        "with confidence intervals.",
    },
    {
        "name": "WildBench",
        "year": 2024,
        "citation": "Lin, B. Y., Deng, Y., Chandu, K., et al. WildBench: Benchmarking LLMs "
        "with Challenging Tasks from Real Users in the Wild. arXiv:2406.04770 (2024); "
        "ICLR 2025.",
        "url": "https://arxiv.org/abs/2406.04770",
        "description": "About 1,000 tasks selected from real user conversations with "
        "chatbots; some include the earlier turns of the conversation as context, and the "
        "model writes the next reply. A language-model judge scores replies with "
        "task-specific checklists, individually and in pairwise comparison against "
        "baseline models.",
    },
    {
        "name": "HELM",
        "year": 2023,
        "citation": "Liang, P., Bommasani, R., Lee, T., et al. Holistic Evaluation of "
        "Language Models. Transactions on Machine Learning Research (2023). "
        "arXiv:2211.09110.",
        "url": "https://arxiv.org/abs/2211.09110",
        "description": "A framework that runs many existing scenarios (question answering, "
        "summarisation, classification and others) under standardised prompting and "
        "reports several metrics per scenario, such as accuracy, calibration, robustness, "
        "fairness, bias, toxicity and efficiency. Most scenarios are single prompts "
        "scored automatically against references.",
    },
    {
        "name": "BIG-Bench Hard",
        "year": 2023,
        "citation": "Suzgun, M., Scales, N., Schärli, N., et al. Challenging BIG-Bench Tasks "
        "and Whether Chain-of-Thought Can Solve Them. Findings of ACL 2023. "
        "arXiv:2210.09261.",
        "url": "https://arxiv.org/abs/2210.09261",
        "description": "A subset of 23 BIG-Bench reasoning tasks on which earlier models "
        "scored below average human raters. Each item is a single prompt, usually with a "
        "few worked examples (with or without chain-of-thought), and the final answer is "
        "matched exactly against the reference.",
    },
    {
        "name": "MMLU-Pro",
        "year": 2024,
        "citation": "Wang, Y., Ma, X., Zhang, G., et al. MMLU-Pro: A More Robust and "
        "Challenging Multi-Task Language Understanding Benchmark. NeurIPS 2024 Datasets "
        "and Benchmarks. arXiv:2406.01574.",
        "url": "https://arxiv.org/abs/2406.01574",
        "description": "About 12,000 multiple-choice questions across 14 academic and "
        "professional domains, with ten answer options per question and more "
        "reasoning-focused items than MMLU. The chosen option is compared with the answer "
        "key; there is no conversation with a user.",
    },
    {
        "name": "JudgeBench",
        "year": 2024,
        "citation": "Tan, S., Zhuang, S., Montgomery, K., Tang, W. Y., Cuadron, A., Wang, C., "
        "Popa, R. A., Stoica, I. JudgeBench: A Benchmark for Evaluating LLM-based Judges. "
        "arXiv:2410.12784 (2024); ICLR 2025.",
        "url": "https://arxiv.org/abs/2410.12784",
        "description": "Pairs of responses to hard knowledge, reasoning, mathematics and "
        "coding questions, labelled by which response is objectively correct. It "
        "evaluates models used as judges: a judge is scored on whether it prefers the "
        "correct response of each pair.",
    },
    {
        "name": "SafetyBench",
        "year": 2023,
        "citation": "Zhang, Z., Lei, L., Wu, L., et al. SafetyBench: Evaluating the Safety of "
        "Large Language Models. arXiv:2309.07045 (2023).",
        "url": "https://arxiv.org/abs/2309.07045",
        "description": "About 11,000 multiple-choice questions in Chinese and English across "
        "seven categories of safety concern. The model picks an option for each question, "
        "zero-shot or few-shot, and the choice is compared with the answer key.",
    },
    {
        "name": "tau-bench",
        "year": 2024,
        "citation": "Yao, S., Shinn, N., Razavi, P., Narasimhan, K. τ-bench: A Benchmark for "
        "Tool-Agent-User Interaction in Real-World Domains. arXiv:2406.12045 (2024).",
        "url": "https://arxiv.org/abs/2406.12045",
        "description": "Customer-service conversations (retail and airline domains) in "
        "which an agent with domain API tools and a written policy talks with a user "
        "simulated by a language model. Success is judged by comparing the database "
        "state at the end of the conversation with an annotated goal state; a pass^k "
        "metric measures consistency over repeated trials.",
    },
    {
        "name": "CURATe",
        "year": 2024,
        "citation": "Alberts, L., Ellis, B., Lupu, A., Foerster, J. CURATe: Benchmarking "
        "Personalised Alignment of Conversational AI Assistants. arXiv:2410.21159 (2024).",
        "url": "https://arxiv.org/abs/2410.21159",
        "description": "Multi-turn scenarios in which a user discloses safety-critical "
        "personal information (such as a severe allergy or phobia) early on, then asks "
        "unrelated questions and finally asks for a recommendation that should take the "
        "disclosure into account, sometimes with other people's conflicting preferences "
        "introduced. Responses are graded by an external language-model evaluator.",
    },
    {
        "name": "Rifts",
        "year": 2025,
        "citation": "Shaikh, O., Mozannar, H., Bansal, G., Fourney, A., Horvitz, E. Navigating "
        "Rifts in Human-LLM Grounding: Study and Benchmark. ACL 2025. arXiv:2503.13975.",
        "url": "https://arxiv.org/abs/2503.13975",
        "description": "Situations drawn from public logs of human-assistant conversations "
        "in which the assistant should initiate grounding (for example ask a clarifying "
        "question or follow up) rather than answer straight away. It tests whether a "
        "model recognises when grounding is needed.",
    },
    {
        "name": "Common Ground",
        "year": None,
        "citation": "",
        "url": "",
        "description": "",
        "notes": "Citation not verified. A likely candidate is Poelitz, C., Doshi-Velez, F., "
        "Lindley, S. A Benchmark to Assess Common Ground in Human-AI Collaboration, "
        "arXiv:2602.21337 (2026), a collaborative puzzle task requiring iterative "
        "interaction, referential coordination and repair. Confirm against the reference "
        "audit before coding this entry, and add a description for coders.",
    },
]


def seed(apps, schema_editor):
    Benchmark = apps.get_model("audit", "Benchmark")
    for entry in BENCHMARKS:
        defaults = {key: value for key, value in entry.items() if key != "name"}
        defaults.setdefault("notes", "")
        Benchmark.objects.update_or_create(
            name=entry["name"], defaults={**defaults, "builtin": True}
        )


def unseed(apps, schema_editor):
    Benchmark = apps.get_model("audit", "Benchmark")
    Benchmark.objects.filter(builtin=True, name__in=[e["name"] for e in BENCHMARKS]).delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_snapshot_request_claim_statement")]

    operations = [migrations.RunPython(seed, unseed)]
