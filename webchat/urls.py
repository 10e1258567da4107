"""The visitor API (webchat.visitor_api), mounted at /webchat/ by config/urls.py."""

from django.urls import path

from webchat import visitor_api

app_name = "webchat"

urlpatterns = [
    path("<str:widget_key>/config/", visitor_api.chat_config, name="config"),
    path("<str:widget_key>/session/", visitor_api.session, name="session"),
    path("<str:widget_key>/messages/", visitor_api.messages, name="messages"),
    path("<str:widget_key>/read/", visitor_api.read, name="read"),
    path("<str:widget_key>/typing/", visitor_api.typing, name="typing"),
    path("<str:widget_key>/survey/", visitor_api.survey, name="survey"),
    path(
        "<str:widget_key>/files/<int:message_id>/<str:signature>/",
        visitor_api.visitor_file,
        name="file",
    ),
]
