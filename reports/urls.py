from django.urls import path

from reports import live_views, views

app_name = "reports"
urlpatterns = [
    path("", views.reports_page, name="page"),
    path("live/", live_views.live_page, name="live"),
]
