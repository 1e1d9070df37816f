from django.conf import settings
from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("requests/<int:pk>/send/", views.request_send, name="request_send"),
    path("requests/<int:pk>/preview/", views.request_email_preview, name="request_preview"),
    path("requests/<int:pk>/web-form/", views.web_form_submitted, name="web_form_submitted"),
    path("emails/<int:pk>/retry/", views.email_retry, name="email_retry"),
    path("inbound/unmatched/", views.inbound_unmatched, name="inbound_unmatched"),
    path("inbound/<int:pk>/attach/", views.inbound_attach_view, name="inbound_attach"),
    path("inbound/<int:pk>/apply/", views.reply_apply, name="reply_apply"),
    path(
        "inbound/attachments/<int:pk>/",
        views.inbound_attachment_download,
        name="inbound_attachment",
    ),
]

# The demo's outbox exists only where the embedded mail sink runs; elsewhere the
# name does not resolve, so the navigation leaves it out (and the views 404 too).
if getattr(settings, "MAILSINK_DIR", None):
    urlpatterns += [
        path("outbox/", views.outbox, name="outbox"),
        path("outbox/<str:key>/", views.outbox_message, name="outbox_message"),
    ]
