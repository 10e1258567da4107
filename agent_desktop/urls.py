from django.urls import path

from agent_desktop import presence_views, team_views, views

app_name = "agent_desktop"

urlpatterns = [
    path("", views.desktop, name="home"),
    path("poll/", views.desk_poll, name="poll"),
    path("list/", views.contact_list_partial, name="list"),
    path("presence/", presence_views.presence_set, name="presence"),
    path("presence/beat/", presence_views.heartbeat, name="heartbeat"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact"),
    path("contacts/<int:pk>/live/", views.conversation_partial, name="conversation"),
    path("contacts/<int:pk>/reply/", views.reply, name="reply"),
    path("contacts/<int:pk>/picture/", views.contact_picture, name="picture"),
    path("contacts/<int:pk>/refresh-profile/", views.refresh_profile, name="refresh_profile"),
    path("contacts/<int:pk>/note/", team_views.note_add, name="note"),
    path("contacts/<int:pk>/labels/", team_views.labels_set, name="labels_set"),
    path("contacts/<int:pk>/typing/", views.typing, name="typing"),
    path("contacts/<int:pk>/<slug:action>/", views.contact_action, name="action"),
    path("messages/<int:pk>/file/", views.message_upload, name="message_file"),
    path("messages/<int:pk>/retry/", views.retry_reply, name="retry"),
    path("files/<str:token>/", views.kept_file, name="kept_file"),  # on MEDIA_ORIGIN only
]
