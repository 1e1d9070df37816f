from django.urls import URLPattern, URLResolver, path

from verification import views

app_name = "verification"
urlpatterns: list[URLPattern | URLResolver] = [
    path("items/<int:pk>/", views.item_checks_view, name="item_checks"),
    path("items/<int:pk>/check/", views.item_check_now_view, name="item_check_now"),
]
