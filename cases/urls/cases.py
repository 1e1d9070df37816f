from __future__ import annotations

from django.urls import path

from cases.views import cases

app_name = "cases"
urlpatterns = [
    path("", cases.case_list, name="list"),
    path("export.csv", cases.case_export, name="export"),
    path("new/", cases.create, name="create"),
    path("<int:pk>/", cases.detail, name="detail"),
]
