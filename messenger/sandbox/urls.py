from django.urls import path, re_path

from messenger.sandbox import views

app_name = "sandbox"

urlpatterns = [
    re_path(r"^graph/(?P<path>.*)$", views.graph_api, name="graph"),
    path("simulator/", views.simulator_home, name="simulator"),
    path("simulator/<int:entry_point>/<str:psid>/", views.simulator_chat, name="chat"),
    path(
        "simulator/attachments/<str:attachment_id>/",
        views.simulator_attachment,
        name="attachment",
    ),
    path("simulator/<int:entry_point>/<str:psid>/thread/", views.simulator_thread, name="thread"),
]
