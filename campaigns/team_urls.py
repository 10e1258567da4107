"""The Team pages, under /team/ (admins only)."""

from django.urls import path

from campaigns import team_views

app_name = "team"

urlpatterns = [
    path("", team_views.team_list, name="list"),
    path("new/<slug:how>/", team_views.person_create, name="create"),
    path("<int:pk>/", team_views.person_detail, name="person"),
    path("<int:pk>/active/", team_views.person_active, name="set_active"),
    path("<int:pk>/resend-invitation/", team_views.invitation_resend, name="resend"),
    path("campaigns/<int:pk>/members/", team_views.campaign_members, name="campaign_members"),
]
