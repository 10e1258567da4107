"""The Facebook Page's builder pages, mounted under /campaigns/ beside campaigns' own (the paths
are the ones the builder always had)."""

from django.urls import path

from messenger import builder_views as views

app_name = "messenger_builder"

urlpatterns = [
    path("entry-points/<int:pk>/webhook/", views.WebhookGenerateView.as_view(), name="webhook"),
    path("entry-points/<int:pk>/move-page/", views.PageMoveView.as_view(), name="move_page"),
    path("entry-points/<int:pk>/deliveries/", views.DeliveryLogView.as_view(), name="deliveries"),
    path("entry-points/<int:pk>/health/", views.HealthView.as_view(), name="health"),
    path("entry-points/<int:pk>/recover/", views.RecoverView.as_view(), name="recover"),
    path(
        "entry-points/<int:pk>/deliveries/replay-ignored/",
        views.ReplayIgnoredView.as_view(),
        name="replay_ignored",
    ),
    path(
        "entry-points/<int:pk>/deliveries/<int:delivery_id>/",
        views.DeliveryDetailView.as_view(),
        name="delivery",
    ),
    path(
        "entry-points/<int:pk>/webhook/status/",
        views.WebhookStatusView.as_view(),
        name="webhook_status",
    ),
]
