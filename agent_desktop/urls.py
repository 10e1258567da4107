from django.urls import path

from agent_desktop import views

app_name = "agent_desktop"

urlpatterns = [
    path("", views.desktop, name="home"),
]
