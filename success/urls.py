from django.urls import path

from success import views

app_name = "success"

urlpatterns = [
    path("success/", views.account_list, name="list"),
    path("success/<str:kind>/<int:pk>/", views.account_detail, name="detail"),
]
