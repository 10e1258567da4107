"""/profile/: a person's own page (every logged-in person)."""

from django.urls import path

from agent_desktop import profile_views

app_name = "profile"

urlpatterns = [
    path("", profile_views.profile_page, name="home"),
    path("details/", profile_views.details_save, name="details"),
    path("avatar/", profile_views.avatar_save, name="avatar"),
    path("avatar/<int:pk>/", profile_views.avatar_file, name="avatar_file"),
    path("password/", profile_views.password_save, name="password"),
    path("token/", profile_views.token_save, name="token"),
    path("notifications/", profile_views.notifications_save, name="notifications"),
]
