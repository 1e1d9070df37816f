"""Portal URLs. ``public_patterns`` face the internet; ``staff_patterns`` only the staff service."""

from __future__ import annotations

from django.urls import path

from portal import views, views_staff

app_name = "portal"

public_patterns = [
    # Before the token pattern: "language" is not a token.
    path("language/", views.portal_set_language_view, name="set_language"),
    path("<str:token>/", views.portal_page_view, name="page"),
    path("<str:token>/receipt/<int:sequence>/", views.portal_receipt_view, name="receipt"),
]

staff_patterns = [
    path("-/links/<int:link_id>/revoke/", views_staff.portal_link_revoke_view, name="revoke"),
    path("-/links/<int:link_id>/reissue/", views_staff.portal_link_reissue_view, name="reissue"),
    path(
        "-/requests/<int:pk>/answer-question/",
        views_staff.clarification_answer_view,
        name="answer_question",
    ),
]

urlpatterns = staff_patterns + public_patterns
