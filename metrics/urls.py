from __future__ import annotations

from django.urls import path

from metrics.views import league, pages, report

app_name = "metrics"
urlpatterns = [
    path("", league.league, name="league"),
    path("league.csv", league.league_csv, name="league_csv"),
    path("refresh/", league.refresh, name="refresh"),
    path("items/", league.items, name="items"),
    path("items.csv", league.items_csv, name="items_csv"),
    path("platforms/<int:pk>/", pages.scorecard, name="scorecard"),
    path("platforms/<int:pk>/scorecard.csv", pages.scorecard_csv, name="scorecard_csv"),
    path("trends/", pages.trends, name="trends"),
    path("trends.csv", pages.trends_csv, name="trends_csv"),
    path("report/", report.report_page, name="report"),
    path("report.pdf", report.report_pdf, name="report_pdf"),
    path("report.csv", report.report_csv, name="report_csv"),
]
