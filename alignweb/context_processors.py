from django.http import HttpRequest

from coding.models import Membership


def navigation(request: HttpRequest) -> dict:
    """Whether to show lead-only navigation (any study where the user leads)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_is_lead": False}
    return {"nav_is_lead": Membership.objects.filter(user=user, role=Membership.Role.LEAD).exists()}
