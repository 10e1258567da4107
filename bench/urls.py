"""The benchmark's baseline views; included by config/urls.py only when BENCH_BASELINES=1."""

from django.urls import path

from bench import baseline_views

urlpatterns = [
    path("bare/", baseline_views.bare),
    path("durable/", baseline_views.durable),
]
