from django.urls import URLPattern, URLResolver, path

from scheduling.views import health, run_now

app_name = "scheduling"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", health, name="health"),
    path("jobs/<str:name>/run/", run_now, name="run_now"),
]
