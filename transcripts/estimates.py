"""Before you spend: cells, tokens and cost of a run that has not started (read only).

Input tokens are estimated from the text each cell sends (scaffold system prompt plus
user prompt, about four characters per token); output tokens are the run's max_tokens
per reply, an upper bound, or an assumed typical reply when max_tokens is unset. Cost
uses each endpoint's prices; an endpoint without prices makes the total unknown, and
the form says which. Above the confirmation thresholds the form asks before it starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from .cells import cell_messages
from .limits import DEFAULT_OUTPUT_TOKENS, message_tokens
from .models import ModelEndpoint, Prompt, Scaffold

MILLION = Decimal(1_000_000)


@dataclass
class EndpointEstimate:
    name: str
    cells: int
    input_tokens: int
    output_tokens: int
    cost: Decimal | None


@dataclass
class RunEstimate:
    cells: int
    input_tokens: int
    output_tokens: int
    cost: Decimal | None
    output_per_reply: int
    output_assumed: bool  # no max_tokens: the output figure is a guess, not a bound
    unpriced: list[str] = field(default_factory=list)
    endpoints: list[EndpointEstimate] = field(default_factory=list)
    confirm_reasons: list[str] = field(default_factory=list)

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.confirm_reasons)


def _cost(endpoint: ModelEndpoint, input_tokens: int, output_tokens: int) -> Decimal | None:
    if endpoint.price_input_per_mtok is None or endpoint.price_output_per_mtok is None:
        return None
    return (
        Decimal(input_tokens) * endpoint.price_input_per_mtok
        + Decimal(output_tokens) * endpoint.price_output_per_mtok
    ) / MILLION


def run_estimate(
    *,
    endpoints: Iterable[ModelEndpoint],
    scaffolds: Iterable[Scaffold],
    prompts: Iterable[Prompt],
    replicates: int,
    max_tokens: int | None,
) -> RunEstimate:
    """The size and price of a grid before it is created."""
    endpoints, scaffolds, prompts = list(endpoints), list(scaffolds), list(prompts)
    replicates = max(1, replicates)
    per_endpoint_cells = len(scaffolds) * len(prompts) * replicates
    # Input is the same for every endpoint: each sends the same scaffold x prompt texts.
    input_per_endpoint = replicates * sum(
        message_tokens(cell_messages(system_prompt=s.system_prompt, prompt_text=p.text))
        for s in scaffolds
        for p in prompts
    )
    rows = []
    for endpoint in endpoints:
        reply = max_tokens or (endpoint.default_params or {}).get("max_tokens")
        output = per_endpoint_cells * int(reply or DEFAULT_OUTPUT_TOKENS)
        rows.append(
            EndpointEstimate(
                name=endpoint.name,
                cells=per_endpoint_cells,
                input_tokens=input_per_endpoint,
                output_tokens=output,
                cost=_cost(endpoint, input_per_endpoint, output),
            )
        )
    unpriced = [r.name for r in rows if r.cost is None]
    total_cost = None if unpriced or not rows else sum((r.cost for r in rows), Decimal(0))
    estimate = RunEstimate(
        cells=per_endpoint_cells * len(endpoints),
        input_tokens=sum(r.input_tokens for r in rows),
        output_tokens=sum(r.output_tokens for r in rows),
        cost=total_cost.quantize(Decimal("0.0001")) if total_cost is not None else None,
        output_per_reply=int(max_tokens or DEFAULT_OUTPUT_TOKENS),
        output_assumed=not max_tokens,
        unpriced=unpriced,
        endpoints=rows,
    )
    usd, cells = settings.GENERATION_CONFIRM_USD, settings.GENERATION_CONFIRM_CELLS
    if estimate.cost is not None and estimate.cost >= usd:
        estimate.confirm_reasons.append(f"it may cost up to ${estimate.cost:,.2f}")
    if estimate.cells >= cells:
        estimate.confirm_reasons.append(f"it has {estimate.cells:,} cells")
    return estimate
