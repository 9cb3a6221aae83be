"""A link works exactly once, also when it is used twice at the same
moment (a double click, a mail scanner racing the person): real
PostgreSQL connections in threads, one request per connection."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client

from accounts import services
from accounts.models import User


def _in_thread(fn, results, index):
    from django.db import connection as thread_connection

    try:
        results[index] = fn()
    finally:
        thread_connection.close()


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _race(user: User, request) -> list:
    """Hold the account row in one connection while two requests queue on
    it, then let go; returns the two responses' status codes."""
    locked, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            User.objects.select_for_update(no_key=True).get(pk=user.pk)
            locked.set()
            release.wait(20)

    holder = threading.Thread(target=_in_thread, args=(hold, [None], 0))
    holder.start()
    assert locked.wait(10)
    results: list = [None, None]
    racers = [threading.Thread(target=_in_thread, args=(request, results, i)) for i in range(2)]
    for t in racers:
        t.start()
    deadline = time.monotonic() + 15
    while _waiting_on_locks() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _waiting_on_locks() >= 2, "both requests should be waiting for the account row"
    release.set()
    for t in [holder, *racers]:
        t.join(20)
    return sorted(r.status_code for r in results)


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_link_used_twice_at_once_signs_in_once():
    user = User.objects.create_user(email="race@example.com", password=None, is_active=False)
    link = f"/accounts/magic-link/{services.magic_link_token_make(user=user)}/"
    assert _race(user, lambda: Client().post(link)) == [302, 400]
    user.refresh_from_db()
    assert user.is_active


@pytest.mark.django_db(transaction=True)
def test_a_reset_link_used_twice_at_once_sets_one_password():
    user = User.objects.create_user(email="race2@example.com", password="first-pass-123")
    token = services._token_make(user, salt=services.PASSWORD_RESET_SALT)
    link = f"/accounts/password-reset/{token}/"
    passwords = iter(["racer-one-pass-1", "racer-two-pass-2"])
    lock = threading.Lock()

    def post():
        with lock:
            pw = next(passwords)
        return Client().post(link, {"new_password1": pw, "new_password2": pw})

    assert _race(user, post) == [302, 400]
    user.refresh_from_db()
    assert user.check_password("racer-one-pass-1") != user.check_password("racer-two-pass-2")
