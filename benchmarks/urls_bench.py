"""The staff URLs plus the bare view; used only through override_settings(ROOT_URLCONF=...)."""

from django.urls import path

from benchmarks.views import bare_list
from config.urls import urlpatterns as staff_urlpatterns

BARE_URL = "/__bench__/bare/"

urlpatterns = [path(BARE_URL.strip("/") + "/", bare_list, name="bench_bare"), *staff_urlpatterns]
