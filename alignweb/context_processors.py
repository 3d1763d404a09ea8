from django.http import HttpRequest

from alignweb.permissions import roles_anywhere
from coding.models import Membership


def navigation(request: HttpRequest) -> dict:
    """Whether to show lead-only navigation (any study where the user leads) and the
    Generation link (leads and generation operators)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_is_lead": False, "nav_generates": False}
    roles = roles_anywhere(user)
    return {
        "nav_is_lead": Membership.Role.LEAD in roles,
        "nav_generates": bool(roles & {Membership.Role.LEAD, Membership.Role.OPERATOR}),
    }
