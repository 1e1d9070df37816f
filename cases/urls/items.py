from __future__ import annotations

from django.urls import path

from cases.views import approvals, intake, items

app_name = "items"
urlpatterns = [
    path("", items.item_list, name="list"),
    path("export.csv", items.item_export, name="export"),
    path("intake/", intake.intake, name="intake"),
    path("intake/one/", intake.intake_single, name="intake_single"),
    path("intake/csv/", intake.intake_csv, name="intake_csv"),
    path("intake/result/<str:token>/", intake.intake_result, name="intake_result"),
    path(
        "intake/result/<str:token>/platform/",
        intake.intake_register_platform,
        name="intake_register_platform",
    ),
    path("approvals/", approvals.approvals, name="approvals"),
    path("approvals/decide/", approvals.approvals_decide, name="approvals_decide"),
    path("<int:pk>/", items.detail, name="detail"),
    path("<int:pk>/hold/", items.hold, name="hold"),
    path("<int:pk>/hold/release/", items.hold_release, name="hold_release"),
]
