from django.urls import path

from metrics import views

app_name = "metrics-dashboard"

urlpatterns = [
    path("manager/dashboard/", views.manager_dashboard, name="dashboard"),
    path("manager/dashboard/drill/", views.manager_drill, name="drill"),
    path("agent/my-stats/", views.my_stats, name="my-stats"),
    path("agent/my-stats/drill/", views.my_stats_drill, name="my-stats-drill"),
    path("manager/definitions/<slug:page>/", views.definitions, name="definitions"),
]
