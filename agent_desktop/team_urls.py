"""The admins' pages for the team's tools (canned replies, labels), under /desktop/settings/."""

from django.urls import path

from agent_desktop import team_views

app_name = "team_tools"

urlpatterns = [
    path("canned-replies/", team_views.canned_responses, name="canned_responses"),
    path("canned-replies/<int:pk>/", team_views.canned_responses, name="canned_response"),
    path(
        "canned-replies/<int:pk>/delete/",
        team_views.canned_response_delete,
        name="canned_response_delete",
    ),
    path("labels/", team_views.label_list, name="labels"),
    path("labels/<int:pk>/delete/", team_views.label_delete, name="label_delete"),
]
