from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.CampaignListView.as_view(), name="list"),
    path("audit/", views.AuditLogView.as_view(), name="audit"),
    path("new/", views.CampaignCreateView.as_view(), name="create"),
    path("<int:pk>/", views.CampaignDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CampaignUpdateView.as_view(), name="edit"),
    path("<int:pk>/active/", views.CampaignActiveView.as_view(), name="set_active"),
    path(
        "<int:pk>/entry-points/new/", views.EntryPointCreateView.as_view(), name="add_entry_point"
    ),
    path("entry-points/<int:pk>/", views.EntryPointPanelView.as_view(), name="entry_point"),
    path("entry-points/<int:pk>/archive/", views.EntryPointArchiveView.as_view(), name="archive"),
    path("entry-points/<int:pk>/erase/", views.EntryPointEraseView.as_view(), name="erase"),
]
