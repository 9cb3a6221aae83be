from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("signup/", views.signup_view, name="signup"),
    path("magic-link/", views.magic_link_request_view, name="magic-link"),
    path("magic-link/<str:token>/", views.magic_link_login_view, name="magic-link-login"),
]
