"""Settings part B URLs (see views_b.py), included by desk_settings.urls."""

urlpatterns: list = []
