"""The endpoint page: settings, live limits, editing limits and prices, Test connection."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from coding.services import ServiceError

from .endpoints import check_state, endpoint_check_request, endpoint_update
from .forms import EndpointLimitsForm
from .limits import limit_status
from .models import EndpointLimiter, ModelEndpoint
from .permissions import access_endpoint


def _check_context(endpoint: ModelEndpoint) -> dict:
    return {"endpoint": endpoint, "check": check_state(endpoint)}


def _limits_form(endpoint: ModelEndpoint, data=None) -> EndpointLimitsForm:
    initial = {
        name: getattr(endpoint, name)
        for name in EndpointLimitsForm.base_fields
        if hasattr(endpoint, name)
    }
    return EndpointLimitsForm(data, initial=initial)


def _detail(request: HttpRequest, endpoint: ModelEndpoint, form: EndpointLimitsForm):
    state = EndpointLimiter.objects.filter(pk=endpoint.pk).first()
    context = _check_context(endpoint) | {
        "form": form,
        "limits": limit_status(endpoint, state, timezone.now()),
        "runs": endpoint.runs.order_by("-created_at")[:10],
    }
    return render(request, "transcripts/endpoint_detail.html", context)


@login_required
@require_GET
def endpoint_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = access_endpoint(request.user, endpoint_id)
    return _detail(request, endpoint, _limits_form(endpoint))


@login_required
@require_POST
def endpoint_edit(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = access_endpoint(request.user, endpoint_id)
    form = _limits_form(endpoint, request.POST)
    if form.is_valid():
        try:
            endpoint_update(endpoint=endpoint, by=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Limits and prices saved.")
            return redirect("transcripts:endpoint-detail", endpoint_id=endpoint.pk)
    return _detail(request, endpoint, form)


@login_required
@require_POST
def endpoint_check(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """Ask a worker for one tiny request; htmx swaps in the waiting state, which polls."""
    endpoint = access_endpoint(request.user, endpoint_id)
    try:
        endpoint = endpoint_check_request(endpoint=endpoint, by=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc))
    if request.headers.get("HX-Request"):
        return render(
            request, "transcripts/_partials/endpoint_check.html", _check_context(endpoint)
        )
    return redirect("transcripts:endpoint-detail", endpoint_id=endpoint.pk)


@login_required
@require_GET
def endpoint_check_status(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = access_endpoint(request.user, endpoint_id)
    return render(request, "transcripts/_partials/endpoint_check.html", _check_context(endpoint))
