"""Request-level guards shared by the HTML views and the API."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string


class UploadLimitMiddleware:
    """Refuse bodies over MAX_UPLOAD_BYTES with 413 before anything reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_UPLOAD_BYTES
        if length > limit:
            message = (
                f"Upload too large: {length:,} bytes; the limit is {limit:,} bytes "
                f"({limit // (1024 * 1024)} MB). Split the file and import it in parts."
            )
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            html = render_to_string("413.html", {"message": message}, request=request)
            return HttpResponse(html, status=413)
        return self.get_response(request)
