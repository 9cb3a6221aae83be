"""Test settings: only speed-ups on top of base."""

from helpdesk.settings.base import *

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
MEDIA_ROOT = BASE_DIR / "test-artifacts" / "media"
# Per-process cache: tests control time (time-machine) and must not share
# throttle or presence keys through Redis with other runs. Cleared per test.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# No role must use two-factor unless a test says so: the suite signs staff
# in with force_login and the login form (tests/accounts/test_two_factor.py
# sets it).
HELPDESK_2FA_REQUIRED_ROLES = []
# The tests of the SLA and notification rules read stored due instants and
# e-mail bodies right after a service call in a transaction that never commits,
# so they run the same code inline; the deferred paths (the defaults) have
# their own tests (tests/tickets/test_sla_dirty.py, tests/mail/test_render_at_send.py),
# which set these to "worker" / "send" (docs/delivery.md).
HELPDESK_SLA_REFRESH = env("HELPDESK_SLA_REFRESH", default="inline")
HELPDESK_NOTIFY_RENDER = env("HELPDESK_NOTIFY_RENDER", default="event")
