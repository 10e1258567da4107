from django.urls import path

from webchat import builder_views

app_name = "webchat_builder"

urlpatterns = [
    path("<int:pk>/website-chat/", builder_views.panel, name="panel"),
]
