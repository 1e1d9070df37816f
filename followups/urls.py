from django.urls import URLPattern, URLResolver, path

from followups import views

app_name = "followups"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.followups_settings, name="settings"),
    path("schedule/", views.schedule_update, name="schedule_update"),
    path("ladders/", views.ladder_save, name="ladder_save"),
    path("ladders/<int:pk>/delete/", views.ladder_delete, name="ladder_delete"),
    path("alerts/<int:pk>/dismiss/", views.alert_dismiss_view, name="alert_dismiss"),
]
