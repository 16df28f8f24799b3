"""Login throttling (django-axes): repeated failed logins for one username from one address lock that
pair out for LOGIN_LOCKOUT_MINUTES, on the site login and the admin login, with a page saying so."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

SITE_LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def attempt(client, url, username, password):
    return client.post(url, {"username": username, "password": password})


def fail_until_limit(client, url, username):
    """Fail as many times as the limit allows; returns the responses."""
    return [attempt(client, url, username, f"wrong-{i}") for i in range(settings.AXES_FAILURE_LIMIT)]


def assert_locked_out(response):
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed logins" in text
    assert f"{settings.AXES_FAILURE_LIMIT} failed attempts" in text
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"for {minutes} minutes" in text


def test_the_defaults_are_five_failures_and_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)


@pytest.mark.parametrize("url", [SITE_LOGIN, ADMIN_LOGIN])
def test_failures_below_the_limit_show_the_ordinary_form_error(client, admin_user, url):
    for response in [attempt(client, url, "root", "wrong") for _ in range(settings.AXES_FAILURE_LIMIT - 1)]:
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()


@pytest.mark.parametrize("url", [SITE_LOGIN, ADMIN_LOGIN])
def test_reaching_the_limit_locks_out_even_the_right_password(client, admin_user, url):
    responses = fail_until_limit(client, url, "root")
    assert [r.status_code for r in responses[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert_locked_out(responses[-1])

    response = attempt(client, url, "root", "root-password-1")
    assert_locked_out(response)
    assert "_auth_user_id" not in client.session


def test_a_lockout_on_the_site_login_also_holds_on_the_admin_login(client, admin_user):
    fail_until_limit(client, SITE_LOGIN, "root")
    assert_locked_out(attempt(client, ADMIN_LOGIN, "root", "root-password-1"))


def test_the_lockout_is_per_username_so_other_users_still_log_in(client, alice, bob):
    fail_until_limit(client, SITE_LOGIN, "alice")
    response = attempt(client, SITE_LOGIN, "bob", "bob-password-1")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(bob.pk)


def test_the_lockout_ends_after_the_cool_off(client, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        fail_until_limit(client, SITE_LOGIN, "alice")
        traveller.shift(settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
        assert_locked_out(attempt(client, SITE_LOGIN, "alice", "alice-password-1"))

        traveller.shift(timedelta(minutes=2))
        response = attempt(client, SITE_LOGIN, "alice", "alice-password-1")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_a_successful_login_resets_the_count(client, alice):
    below = settings.AXES_FAILURE_LIMIT - 1
    for _ in range(below):
        assert attempt(client, SITE_LOGIN, "alice", "wrong").status_code == 200
    assert attempt(client, SITE_LOGIN, "alice", "alice-password-1").status_code == 302
    client.logout()
    for _ in range(below):
        assert attempt(client, SITE_LOGIN, "alice", "wrong").status_code == 200
    assert attempt(client, SITE_LOGIN, "alice", "alice-password-1").status_code == 302


def test_an_admin_can_unlock_a_user_early(client, alice):
    from django.core.management import call_command

    fail_until_limit(client, SITE_LOGIN, "alice")
    assert_locked_out(attempt(client, SITE_LOGIN, "alice", "alice-password-1"))
    call_command("axes_reset_username", "alice")
    assert attempt(client, SITE_LOGIN, "alice", "alice-password-1").status_code == 302


def test_logins_without_a_request_are_not_throttled(client, alice):
    """The test client's login() and scripts call authenticate() without a request: nothing to guess."""
    assert client.login(username="alice", password="alice-password-1")


def test_without_trusted_proxies_x_forwarded_for_is_ignored(client, alice):
    """Directly exposed, a client cannot escape its lockout by sending another X-Forwarded-For."""
    for i in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            SITE_LOGIN, {"username": "alice", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}"
        )
    response = client.post(
        SITE_LOGIN, {"username": "alice", "password": "alice-password-1"}, HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert_locked_out(response)


def test_behind_a_trusted_proxy_each_client_address_is_locked_out_on_its_own(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = {"HTTP_X_FORWARDED_FOR": "203.0.113.7", "REMOTE_ADDR": "172.18.0.5"}
    colleague = {"HTTP_X_FORWARDED_FOR": "198.51.100.20", "REMOTE_ADDR": "172.18.0.5"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(SITE_LOGIN, {"username": "alice", "password": "wrong"}, **attacker)
    assert_locked_out(
        client.post(SITE_LOGIN, {"username": "alice", "password": "alice-password-1"}, **attacker)
    )
    # A forged address on the left of the header does not help: the proxy appended the real one.
    forged = {"HTTP_X_FORWARDED_FOR": "192.0.2.1, 203.0.113.7", "REMOTE_ADDR": "172.18.0.5"}
    assert_locked_out(
        client.post(SITE_LOGIN, {"username": "alice", "password": "alice-password-1"}, **forged)
    )

    response = client.post(SITE_LOGIN, {"username": "alice", "password": "alice-password-1"}, **colleague)
    assert response.status_code == 302


def test_password_reset_is_off_without_a_mail_server_and_says_what_to_do(client, settings):
    settings.EMAIL_HOST = ""
    for url in ("/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/done/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert (
            "Password reset is off" in response.content.decode()
            and "changepassword" in response.content.decode()
        )
    assert client.post("/accounts/password_reset/", {"email": "alice@example.org"}).status_code == 404


def test_password_reset_works_with_a_mail_server(client, settings, alice, mailoutbox):
    settings.EMAIL_HOST = "smtp.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alice.email = "alice@example.org"
    alice.save()
    assert client.get("/accounts/password_reset/").status_code == 200
    response = client.post("/accounts/password_reset/", {"email": "alice@example.org"})
    assert response.status_code == 302 and len(mailoutbox) == 1


@pytest.fixture
def mail_server(settings):
    settings.EMAIL_HOST = "smtp.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_RESET_RATE_ADDRESS = "5/h"
    settings.PASSWORD_RESET_RATE_ACCOUNT = "3/h"


def test_password_reset_is_throttled_per_address(client, mail_server, alice, mailoutbox):
    emails = [f"someone{i}@example.org" for i in range(5)]
    for email in emails:
        assert client.post("/accounts/password_reset/", {"email": email}).status_code == 302
    refused = client.post("/accounts/password_reset/", {"email": "alice@example.org"})
    assert refused.status_code == 429
    assert "Too many password reset requests came from your address" in refused.content.decode()
    assert mailoutbox == []  # alice's reset was refused; the five others name no account
    # Another address is not held back by this one.
    other = client.post("/accounts/password_reset/", {"email": "alice@example.org"}, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 302 and len(mailoutbox) == 1


def test_password_reset_mails_an_account_at_most_three_times_an_hour(client, mail_server, alice, mailoutbox):
    alice.email = "alice@example.org"
    alice.save()
    for i in range(5):
        response = client.post(
            "/accounts/password_reset/", {"email": "Alice@Example.org "}, REMOTE_ADDR=f"192.0.2.{10 + i}"
        )
        # Always the usual "check your inbox" page: the limit does not reveal whether the account exists.
        assert response.status_code == 302 and response.url == "/accounts/password_reset/done/"
    assert len(mailoutbox) == 3
    assert all(m.to == ["alice@example.org"] for m in mailoutbox)
