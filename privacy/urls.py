from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("people/", views.admin_person_list, name="admin-person-list"),
    path("people/<int:user_id>/", views.admin_person_detail, name="admin-person-detail"),
    path("people/<int:user_id>/export/", views.admin_person_export, name="admin-person-export"),
    path("my-data/", views.my_data, name="my-data"),
    path("my-data/export/", views.my_data_export, name="my-data-export"),
]
