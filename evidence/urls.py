from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("items/<int:pk>/", views.item_evidence, name="item"),
    path("items/<int:pk>/capture/", views.capture_now, name="capture"),
    path("items/<int:pk>/upload/", views.upload, name="upload"),
    path("<int:pk>/download/", views.download, name="download"),
]
