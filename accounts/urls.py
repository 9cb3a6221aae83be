from django.urls import path

from accounts import oidc_views, two_factor_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("signup/", views.signup_view, name="signup"),
    path("signup/confirm/<str:token>/", views.signup_confirm_view, name="signup-confirm"),
    path("magic-link/", views.magic_link_request_view, name="magic-link"),
    path("magic-link/<str:token>/", views.magic_link_login_view, name="magic-link-login"),
    path("password-reset/", views.password_reset_request_view, name="password-reset"),
    path("password-reset/<str:token>/", views.password_reset_confirm_view, name="password-reset-confirm"),
    path("profile/", views.profile_view, name="profile"),
    path("profile/email/", views.profile_email_view, name="profile-email"),
    path("profile/email/confirm/<str:token>/", views.email_change_confirm_view, name="email-change-confirm"),
    path("profile/password/", views.profile_password_view, name="profile-password"),
    # Staff sign-in: two-factor and single sign-on (docs/sign-in.md).
    path("2fa/", two_factor_views.manage_view, name="two-factor"),
    path("2fa/verify/", two_factor_views.verify_view, name="two-factor-verify"),
    path("2fa/enrol/", two_factor_views.enrol_view, name="two-factor-enrol"),
    path("2fa/recovery-codes/", two_factor_views.recovery_codes_view, name="two-factor-recovery-codes"),
    path("2fa/remove/", two_factor_views.remove_view, name="two-factor-remove"),
    path("oidc/login/", oidc_views.oidc_login_view, name="oidc-login"),
    path("oidc/callback/", oidc_views.oidc_callback_view, name="oidc-callback"),
]
