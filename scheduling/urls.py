from django.urls import URLPattern, URLResolver, path

from scheduling.views import health

app_name = "scheduling"
urlpatterns: list[URLPattern | URLResolver] = [path("", health, name="health")]
