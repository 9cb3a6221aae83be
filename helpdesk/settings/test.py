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
