from django.urls import path

from messenger.webhooks import MessengerWebhookView

app_name = "messenger"

urlpatterns = [
    path("webhook/<str:key>/", MessengerWebhookView.as_view(), name="webhook"),
]
