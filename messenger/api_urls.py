"""Messenger's actions on an entry point, at the API paths they always had (beside campaigns'
/api/entry-points/ router)."""

from django.urls import path

from messenger.api import GetWebhookView, HealthView

urlpatterns = [
    path("entry-points/<int:pk>/webhook/", GetWebhookView.as_view(), name="entry-point-webhook"),
    path("entry-points/<int:pk>/health/", HealthView.as_view(), name="entry-point-health"),
]
