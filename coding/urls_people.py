"""People, item-browser, coder-pace and event-log URLs (namespace "coding").

Stable names: study-members, member-invite, invite-renew, invite-revoke, member-remove,
invite-accept (public: the invitation link), item-list, item-preview, coder-pace,
study-events.
"""

from django.urls import path

from coding.views import events as views_events
from coding.views import items as views_items
from coding.views import members as views_members

urlpatterns = [
    path("<int:study_id>/members/", views_members.study_members, name="study-members"),
    path("<int:study_id>/members/invite/", views_members.member_invite, name="member-invite"),
    path(
        "<int:study_id>/members/invites/<int:invite_id>/renew/",
        views_members.invite_renew_view,
        name="invite-renew",
    ),
    path(
        "<int:study_id>/members/invites/<int:invite_id>/revoke/",
        views_members.invite_revoke_view,
        name="invite-revoke",
    ),
    path(
        "<int:study_id>/members/<int:member_id>/remove/",
        views_members.member_remove_view,
        name="member-remove",
    ),
    path("join/<str:token>/", views_members.invite_accept, name="invite-accept"),
    path("<int:study_id>/browse/", views_items.item_list, name="item-list"),
    path("<int:study_id>/browse/<str:code>/", views_items.item_preview, name="item-preview"),
    path("<int:study_id>/coders/", views_items.coder_pace, name="coder-pace"),
    path("<int:study_id>/events/", views_events.study_events, name="study-events"),
]
