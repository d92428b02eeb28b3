"""Password change and reset: allauth's views (its field names: oldpassword, password1,
password2; its URLs under /accounts/password/), the panel's templates, mail to the console."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

OLD = "old-password-Aa1"
NEW = "brand-new-password-Bb2"


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user("pat", "pat@example.com", OLD)


def test_change_password(user) -> None:
    client = Client()
    client.force_login(user)
    page = client.get("/accounts/password/change/")
    assert page.status_code == 200
    assert 'name="oldpassword"' in page.content.decode()
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": OLD, "password1": NEW, "password2": NEW},
    )
    assert response.status_code == 302
    # allauth comes back to the same page with a message (there is no "done" page).
    assert response["Location"] == "/accounts/password/change/"
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert "Password successfully changed." in client.get("/accounts/password/change/").text


def test_change_password_needs_the_old_one(user) -> None:
    client = Client()
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "wrong", "password1": NEW, "password2": NEW},
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(OLD)


def test_change_password_needs_a_login(db) -> None:
    response = Client().get("/accounts/password/change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_reset_mails_a_link_that_sets_a_new_password(user, mailoutbox) -> None:
    client = Client()
    assert 'href="/accounts/password/reset/"' in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/password/reset/", {"email": "pat@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/done/"
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["pat@example.com"]
    assert "Reset your password" in mail.subject
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.body).group(1)
    # allauth swaps the key for "set-password" in a redirect, then shows the form.
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert 'name="password1"' in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"password1": NEW, "password2": NEW},
    )
    assert done["Location"] == "/accounts/password/reset/key/done/"
    user.refresh_from_db()
    assert user.check_password(NEW)


def test_reset_for_an_unknown_address_says_the_same_and_mails_nothing(db, mailoutbox) -> None:
    response = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/accounts/password/reset/done/"
    assert mailoutbox == []


def test_a_bad_reset_link_says_so(user) -> None:
    response = Client().get("/accounts/password/reset/key/1-bad-token/")
    assert response.status_code == 200
    assert "not valid any more" in response.content.decode()
