from django.urls import path

from cases.views import orders
from cases.views import requests as views

app_name = "requests"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("export.csv", views.request_export, name="export"),
    path("compose/", views.request_compose_view, name="compose"),
    path("<int:pk>/", views.request_detail_view, name="detail"),
    path("<int:pk>/order/", orders.order_document, name="order"),
    path("<int:pk>/order.pdf", orders.order_document_pdf, name="order_pdf"),
    path("<int:pk>/submit/", views.request_submit_view, name="submit"),
    path("<int:pk>/return-to-draft/", views.request_return_to_draft_view, name="return_to_draft"),
    path("<int:pk>/cancel/", views.request_cancel_view, name="cancel"),
    path("<int:pk>/remove-item/", views.request_item_remove_view, name="remove_item"),
    path("<int:pk>/outcome/", views.request_record_outcome_view, name="record_outcome"),
    path("<int:pk>/resume-clock/", views.request_resume_clock_view, name="resume_clock"),
    path("<int:pk>/close/", views.request_close_view, name="close"),
    path("<int:pk>/note/", views.request_note_view, name="note"),
]
