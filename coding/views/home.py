"""Home page: sends each user to what they can do in each of their studies."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from coding.selectors import membership_list_for_user
from coding.selectors.home import study_card_progress


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = list(membership_list_for_user(user=request.user))
    progress = study_card_progress(user=request.user, memberships=memberships)
    for m in memberships:
        m.progress = progress.get(m.study_id)
    return render(request, "home.html", {"memberships": memberships})
