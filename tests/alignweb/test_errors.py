"""One mapping from service errors to API responses (alignweb.errors)."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import NotFound

from alignweb.errors import api_exception_handler
from coding.services import Conflict, ImportRejected, Sealed, ServiceError


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (ServiceError("No."), 400, {"detail": "No."}),
        (Conflict("Changed elsewhere."), 409, {"detail": "Changed elsewhere."}),
        (Sealed("Sealed until unblinding."), 403, {"detail": "Sealed until unblinding."}),
    ],
)
def test_service_errors_map_to_their_status(error, status, body):
    response = api_exception_handler(error, {})
    assert response.status_code == status
    assert response.data == body


def test_an_import_refusal_keeps_its_rows():
    response = api_exception_handler(ImportRejected(["Row 3: bad.", "Row 2: bad."]), {})
    assert response.status_code == 400
    assert response.data["errors"] == ["Row 2: bad.", "Row 3: bad."]
    assert "nothing was imported" in response.data["detail"]


def test_other_errors_are_drf_s_own():
    assert api_exception_handler(NotFound(), {}).status_code == 404
    assert api_exception_handler(ValueError("bug"), {}) is None  # a 500, as it should be
