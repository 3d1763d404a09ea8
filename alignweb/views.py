"""Home page: sends each user to what they can do in each of their studies."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from coding.selectors import membership_list_for_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = membership_list_for_user(user=request.user)
    return render(request, "home.html", {"memberships": memberships})
