from django.urls import path

from cases.views.dashboard import dashboard

urlpatterns = [path("", dashboard, name="dashboard")]
