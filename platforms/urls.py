from __future__ import annotations

from django.urls import path

from platforms import views

app_name = "platforms"
urlpatterns = [
    path("", views.platform_list, name="list"),
    path("suggest/", views.platform_suggest, name="suggest"),
    path("export.csv", views.platform_export, name="export"),
    path("new/", views.platform_create_view, name="create"),
    path("<int:pk>/", views.platform_detail_view, name="detail"),
    path("<int:pk>/edit/", views.platform_edit, name="edit"),
    path("<int:pk>/upstream/", views.upstream_add, name="upstream_add"),
    path("<int:pk>/tco-notice/", views.tco_notice_record, name="tco_notice"),
    path("<int:pk>/defunct/confirm/", views.defunct_confirm, name="defunct_confirm"),
    path("<int:pk>/defunct/dismiss/", views.defunct_dismiss, name="defunct_dismiss"),
    path("<int:pk>/contacts/new/", views.contact_add, name="contact_add"),
    path("<int:pk>/contacts/<int:contact_pk>/edit/", views.contact_edit, name="contact_edit"),
    path(
        "<int:pk>/contacts/<int:contact_pk>/deactivate/",
        views.contact_deactivate_view,
        name="contact_deactivate",
    ),
]
