"""All writes of the generation app: endpoints, the scaffold/prompt library, runs.

Cell-level writes (claim, store) live in ``cells.py``; turning a run into a study in
``study_link.py``. Errors are ``coding.services.ServiceError`` with a message safe to show.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from alignweb.version import code_version
from coding.services import ServiceError

from .builtin import text_sha256
from .cells import finish_run_if_done, is_secret_name
from .models import GenerationRun, ModelEndpoint, Prompt, PromptSet, Scaffold, Transcript
from .providers.retry import RetryPolicy
from .runcard import package_versions
from .selectors import prompt_list_current, run_error_groups
from .ssrf import validate_base_url
from .tasks import generation_queue, run_dispatch

if TYPE_CHECKING:
    from coding.models import Study

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
RESERVED_PARAMS = {"model", "messages", "system", "stream", "n"}
MAX_CELLS = 20_000
CONFIG_KEYS = ("temperature", "top_p", "max_tokens", "seed", "stop", "extra")


def _check_extra(extra: Any, where: str) -> dict[str, Any]:
    if extra in (None, ""):
        return {}
    if not isinstance(extra, dict):
        raise ServiceError(f"{where} must be a JSON object.")
    for name in extra:
        if name in RESERVED_PARAMS:
            raise ServiceError(f"{where}: {name!r} is set by AlignWeb and cannot be overridden.")
        if is_secret_name(name):
            raise ServiceError(
                f"{where}: {name!r} looks like a secret. Secrets belong in environment "
                "variables, never in saved configuration."
            )
    return dict(extra)


def endpoint_create(
    *,
    by,
    name: str,
    provider: str,
    base_url: str,
    model: str,
    api_key_env: str = "",
    max_concurrency: int = 4,
    timeout_seconds: float = 60.0,
    price_input_per_mtok: Decimal | None = None,
    price_output_per_mtok: Decimal | None = None,
    default_params: dict[str, Any] | None = None,
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
) -> ModelEndpoint:
    """Register a model endpoint. The key stays in the environment; only its NAME is saved."""
    name, model, base_url = name.strip(), model.strip(), base_url.strip()
    api_key_env = (api_key_env or "").strip()
    if not name or not model:
        raise ServiceError("The endpoint needs a name and a model.")
    if provider not in ModelEndpoint.Provider.values:
        raise ServiceError(f"Unknown provider {provider!r}.")
    if api_key_env and not ENV_NAME.match(api_key_env):
        raise ServiceError(
            "Enter the NAME of an environment variable (for example OPENAI_API_KEY), not the "
            "key itself."
        )
    if not 1 <= max_concurrency <= 256:
        raise ServiceError("Concurrency must be between 1 and 256.")
    if not 0.1 <= timeout_seconds <= 3600:
        raise ServiceError("The timeout must be between 0.1 and 3600 seconds.")
    if requests_per_minute is not None and not 0 <= requests_per_minute <= 1_000_000:
        raise ServiceError("Requests per minute must be between 1 and 1,000,000.")
    if tokens_per_minute is not None and not 0 <= tokens_per_minute <= 1_000_000_000:
        raise ServiceError("Tokens per minute must be between 1 and 1,000,000,000.")
    params = dict(default_params or {})
    params["extra"] = _check_extra(params.get("extra"), "Default extra parameters")
    for key in params:
        if key not in CONFIG_KEYS:
            raise ServiceError(f"Unknown default parameter {key!r}.")
    query = parse_qs(urlsplit(base_url).query)
    if any(is_secret_name(name) for name in query):
        raise ServiceError(
            "The base URL carries a secret in its query string; name an environment variable "
            "for the key instead."
        )
    try:
        validate_base_url(base_url)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages))
    try:
        with transaction.atomic():
            return ModelEndpoint.objects.create(
                created_by=by,
                name=name,
                provider=provider,
                base_url=base_url,
                model=model,
                api_key_env=api_key_env,
                max_concurrency=max_concurrency,
                timeout_seconds=timeout_seconds,
                price_input_per_mtok=price_input_per_mtok,
                price_output_per_mtok=price_output_per_mtok,
                default_params=params,
                requests_per_minute=requests_per_minute or None,
                tokens_per_minute=tokens_per_minute or None,
            )
    except IntegrityError:
        raise ServiceError(f"You already have an endpoint called {name!r}.")


def scaffold_new_version(
    *,
    scaffold: Scaffold,
    by,
    system_prompt: str,
    name: str | None = None,
    description: str | None = None,
    target_dimensions: list[str] | None = None,
) -> Scaffold:
    """Editing a scaffold makes a new version; runs keep the version they used."""
    with transaction.atomic():
        latest = Scaffold.objects.filter(code=scaffold.code).aggregate(v=Max("version"))["v"]
        return Scaffold.objects.create(
            code=scaffold.code,
            name=name or scaffold.name,
            version=(latest or 0) + 1,
            description=scaffold.description if description is None else description,
            system_prompt=system_prompt,
            sha256=text_sha256(system_prompt),
            target_dimensions=(
                scaffold.target_dimensions if target_dimensions is None else target_dimensions
            ),
            previous=scaffold,
            created_by=by,
        )


def prompt_set_create(
    *, name: str, prompts: list[dict[str, str]], by, description: str = ""
) -> PromptSet:
    """A prompt set from ``[{"code", "text", "specification": "full"|"under"}]``."""
    if not name.strip() or not prompts:
        raise ServiceError("A prompt set needs a name and at least one prompt.")
    codes = [str(p.get("code", "")).strip() for p in prompts]
    if any(not c for c in codes) or len(set(codes)) != len(codes):
        raise ServiceError("Every prompt needs a distinct code.")
    for p in prompts:
        if p.get("specification") not in Prompt.Specification.values:
            raise ServiceError(f"Prompt {p.get('code')}: specification must be full or under.")
        if not str(p.get("text", "")).strip():
            raise ServiceError(f"Prompt {p.get('code')}: text is empty.")
    try:
        with transaction.atomic():
            prompt_set = PromptSet.objects.create(
                name=name.strip(), description=description, created_by=by
            )
            Prompt.objects.bulk_create(
                Prompt(
                    prompt_set=prompt_set,
                    code=code,
                    text=p["text"],
                    specification=p["specification"],
                    sha256=text_sha256(p["text"]),
                )
                for code, p in zip(codes, prompts, strict=True)
            )
    except IntegrityError:
        raise ServiceError(f"A prompt set called {name!r} already exists.")
    return prompt_set


def prompt_new_version(
    *, prompt: Prompt, text: str, by, specification: str | None = None
) -> Prompt:
    """Editing a prompt makes a new version in the same set; old runs keep theirs."""
    specification = specification or prompt.specification
    if specification not in Prompt.Specification.values:
        raise ServiceError("Specification must be full or under.")
    if not text.strip():
        raise ServiceError("The prompt text is empty.")
    with transaction.atomic():
        latest = Prompt.objects.filter(prompt_set=prompt.prompt_set, code=prompt.code).aggregate(
            v=Max("version")
        )["v"]
        return Prompt.objects.create(
            prompt_set=prompt.prompt_set,
            code=prompt.code,
            text=text,
            specification=specification,
            version=(latest or 0) + 1,
            sha256=text_sha256(text),
            previous=prompt,
        )


def _clean_config(config: dict[str, Any] | None) -> dict[str, Any]:
    config = {k: v for k, v in (config or {}).items() if v not in (None, "", [])}
    unknown = set(config) - set(CONFIG_KEYS)
    if unknown:
        raise ServiceError(f"Unknown generation settings: {', '.join(sorted(unknown))}.")
    if "temperature" in config and not 0 <= float(config["temperature"]) <= 2:
        raise ServiceError("Temperature must be between 0 and 2.")
    if "top_p" in config and not 0 < float(config["top_p"]) <= 1:
        raise ServiceError("top_p must be in (0, 1].")
    if "max_tokens" in config and not 1 <= int(config["max_tokens"]) <= 200_000:
        raise ServiceError("max_tokens must be between 1 and 200000.")
    stop = config.get("stop")
    if stop is not None:
        stop = [stop] if isinstance(stop, str) else list(stop)
        if len(stop) > 4 or not all(isinstance(s, str) and s for s in stop):
            raise ServiceError("Give at most four non-empty stop sequences.")
        config["stop"] = stop
    config["extra"] = _check_extra(config.get("extra"), "Extra parameters")
    return config


def run_create(
    *,
    by,
    name: str,
    endpoints: Iterable[ModelEndpoint],
    scaffolds: Iterable[Scaffold],
    prompt_set: PromptSet,
    replicates: int = 1,
    config: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
    seed: int | None = None,
    max_prompts: int | None = None,
    dispatch: bool = True,
) -> GenerationRun:
    """Materialise the grid (one Transcript per cell) and enqueue it after commit.

    ``dispatch=False`` leaves the cells for the caller to drive (the in-process demo).
    """
    endpoints, scaffolds = list(endpoints), list(scaffolds)
    if not endpoints or not scaffolds:
        raise ServiceError("Pick at least one endpoint and one scaffold.")
    if any(e.created_by_id != by.pk for e in endpoints):
        raise ServiceError("You can only use your own endpoints.")
    if not 1 <= replicates <= 50:
        raise ServiceError("Replicates must be between 1 and 50.")
    prompts = prompt_list_current(prompt_set)
    if max_prompts:
        prompts = prompts[:max_prompts]
    if not prompts:
        raise ServiceError("The prompt set has no prompts.")
    n_cells = len(endpoints) * len(scaffolds) * len(prompts) * replicates
    if n_cells > MAX_CELLS:
        raise ServiceError(f"{n_cells} cells is more than the limit of {MAX_CELLS}.")
    clean = _clean_config(config)
    default_lease = max(e.timeout_seconds for e in endpoints) + 30
    retry = RetryPolicy.from_dict({"lease_seconds": default_lease, **(policy or {})})
    commit, dirty = code_version()
    with transaction.atomic():
        run = GenerationRun.objects.create(
            name=(name or "").strip() or "Generation run",
            created_by=by,
            prompt_set=prompt_set,
            replicates=replicates,
            config=clean,
            policy=retry.as_dict(),
            seed=secrets.randbelow(2**31) if seed is None else seed,
            code_commit=commit,
            code_dirty=dirty,
            package_versions=package_versions(),
        )
        run.endpoints.set(endpoints)
        run.scaffolds.set(scaffolds)
        run.prompts.set(prompts)
        Transcript.objects.bulk_create(
            [
                Transcript(run=run, endpoint=e, scaffold=s, prompt=p, replicate=r)
                for e in endpoints
                for s in scaffolds
                for p in prompts
                for r in range(1, replicates + 1)
            ],
            batch_size=1000,
        )
        if dispatch:
            _enqueue_on_commit(run)
    return run


def _enqueue_on_commit(run: GenerationRun) -> None:
    run_id = run.pk
    transaction.on_commit(lambda: run_dispatch.apply_async((run_id,), queue=generation_queue()))


MAX_HISTORY = 100


def _history_add(run_id: int, event: str, **details: Any) -> None:
    """Append an event to the run's history (inside the caller's transaction)."""
    run = GenerationRun.objects.select_for_update().only("history").get(pk=run_id)
    entry = {"at": timezone.now().isoformat(), "event": event, **details}
    run.history = [*run.history, entry][-MAX_HISTORY:]
    run.save(update_fields=["history"])


def run_cancel(*, run: GenerationRun, by) -> GenerationRun:
    """Stop claiming new cells. Calls already in flight finish and are kept."""
    with transaction.atomic():
        updated = GenerationRun.objects.filter(
            pk=run.pk, status=GenerationRun.Status.RUNNING
        ).update(status=GenerationRun.Status.CANCELLED)
        if not updated:
            raise ServiceError("Only a running run can be cancelled.")
        _history_add(run.pk, "cancelled", by=getattr(by, "username", ""))
    run.refresh_from_db()
    return run


def run_resume(*, run: GenerationRun, by) -> int:
    """Re-enqueue every unfinished cell (expired leases are reclaimed). Returns the count."""
    unfinished = Transcript.objects.filter(run=run, state__in=Transcript.UNFINISHED).count()
    if not unfinished:
        finish_run_if_done(run.pk)  # a worker may have died right after storing the last cell
        run.refresh_from_db()
        raise ServiceError("Nothing to resume: every cell has finished.")
    with transaction.atomic():
        GenerationRun.objects.filter(pk=run.pk).exclude(status=GenerationRun.Status.RUNNING).update(
            status=GenerationRun.Status.RUNNING, finished_at=None
        )
        _history_add(run.pk, "resumed", by=getattr(by, "username", ""), cells=unfinished)
        _enqueue_on_commit(run)
    run.refresh_from_db()
    return unfinished


def run_retry_failed(*, run: GenerationRun, by) -> int:
    """Give failed cells a fresh set of attempts. Their failures stay visible: each cell's
    attempt log keeps them, and the run's history records what was retried and why."""
    with transaction.atomic():
        failures = run_error_groups(run=run, state=Transcript.State.FAILED, limit=20)
        reset = Transcript.objects.filter(run=run, state=Transcript.State.FAILED).update(
            state=Transcript.State.PENDING,
            attempts=0,
            first_attempt_at=None,
            not_before=None,
            finished_at=None,
        )
        if not reset:
            raise ServiceError("No failed cells to retry.")
        GenerationRun.objects.filter(pk=run.pk).update(
            status=GenerationRun.Status.RUNNING, finished_at=None
        )
        _history_add(
            run.pk, "retried", by=getattr(by, "username", ""), cells=reset, failures=failures
        )
        _enqueue_on_commit(run)
    run.refresh_from_db()
    return reset


def default_study_name() -> str:
    """A neutral name for a study made from a run. Never the run's name: run names may
    name models, and coders see study names."""
    from django.utils import timezone

    return f"Blinded coding study {timezone.localdate():%Y-%m-%d}"


def _check_study_name(name: str, run: GenerationRun) -> str:
    name = (name or "").strip() or default_study_name()
    folded = name.casefold()
    for endpoint in run.endpoints.all():
        for label in (endpoint.model, endpoint.name):
            if len(label) >= 3 and label.casefold() in folded:
                raise ServiceError(
                    f"The study name mentions {label!r}, a model of this run. Coders see "
                    "study names; choose a neutral one."
                )
    return name


def _lead_user(username: str, by):
    """The user who will lead the study (None: ``by`` leads it)."""
    from django.contrib.auth import get_user_model

    username = (username or "").strip()
    if not username:
        return None
    lead = get_user_model().objects.filter(username=username, is_active=True).first()
    if lead is None:
        raise ServiceError(f"No user named {username!r}.")
    return None if lead == by else lead


def run_to_study(
    *,
    run: GenerationRun,
    by,
    name: str = "",
    coders_per_item: int = 2,
    seed: int | None = None,
    lead: str = "",
    description: str = "",
) -> Study:
    """Turn a finished run into a blinded coding study; links each transcript to its item.

    Coders get only the user and assistant turns (never the scaffold's system prompt); the
    condition key holds endpoint model, scaffold, prompt, specification and replicate.
    Records go in shuffled order under random ids so item order says nothing about the grid.
    ``lead`` (a username) leads the study and ``by`` becomes its generation operator, so
    the lead stays blind; without it ``by`` leads, and the run is sealed to them from now
    on until unblinding. A blank name becomes a neutral dated one, never the run's name.
    """
    from coding.models import Rubric
    from coding.rubric_data import ALIGNMENT_RUBRIC
    from coding.services import items_import, study_create

    name = _check_study_name(name, run)
    lead_user = _lead_user(lead, by)
    if run.status != GenerationRun.Status.FINISHED:
        raise ServiceError("Only a finished run can become a study.")
    if run.study_id is not None:
        raise ServiceError("This run has already been turned into a study.")
    cells = list(
        Transcript.objects.filter(run=run, state=Transcript.State.SUCCEEDED).select_related(
            "endpoint", "scaffold", "prompt"
        )
    )
    if not cells:
        raise ServiceError("The run has no successful transcripts to code.")
    rubric = Rubric.objects.filter(name=ALIGNMENT_RUBRIC["name"], version=1).first()
    if rubric is None:
        raise ServiceError("The alignment rubric is missing; run the migrations.")
    random.Random(run.seed).shuffle(cells)
    records = [
        {
            "id": secrets.token_hex(8),
            "messages": [
                {"role": "user", "content": t.prompt.text},
                {"role": "assistant", "content": t.response_text},
            ],
            "metadata": {
                "model": t.endpoint.model,
                "scaffold": t.scaffold.code,
                "prompt": t.prompt.code,
                "specification": t.prompt.specification,
                "replicate": t.replicate,
                "run_id": run.pk,
                "endpoint": t.endpoint.name,
                "served_model": t.provenance.get("served_model", ""),
                "scaffold_version": t.scaffold.version,
                "prompt_version": t.prompt.version,
                "transcript_id": t.pk,
            },
        }
        for t in cells
    ]
    with transaction.atomic():
        study = study_create(
            name=name,
            rubric=rubric,
            by=by,
            coders_per_item=coders_per_item,
            seed=seed,
            # Coders see the description: nothing about the run (its name may name models).
            description=description.strip() or f"{len(cells)} generated transcripts.",
            lead=lead_user,
        )
        result = items_import(
            study=study,
            records=records,
            by=by,
            source=f"generation run {run.pk}",
            # Replies that repeat their scaffold's instructions are scrubbed of the echo.
            hidden_texts=sorted({t.scaffold.system_prompt for t in cells} - {""}),
        )
        for cell, item in zip(cells, result.items, strict=True):
            cell.item = item
        Transcript.objects.bulk_update(cells, ["item"], batch_size=500)
        updated = GenerationRun.objects.filter(pk=run.pk, study__isnull=True).update(study=study)
        if not updated:
            raise ServiceError("This run has already been turned into a study.")
    run.study = study
    return study
