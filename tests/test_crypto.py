"""Token encryption: Fernet round trip, key rotation (and its command), the deploy check."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError

from panel import crypto
from panel.models import Team, TeamToken

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def test_round_trip_and_ciphertext_is_not_the_plaintext(settings) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    ciphertext = crypto.encrypt("a-token-1234")
    assert b"a-token-1234" not in ciphertext
    assert crypto.decrypt(ciphertext) == "a-token-1234"
    assert Fernet(OLD_KEY.encode()).decrypt(ciphertext) == b"a-token-1234"


def test_without_keys_a_key_derived_from_secret_key_is_used(settings) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = []
    assert crypto.uses_derived_key()
    ciphertext = crypto.encrypt("derived")
    assert crypto.decrypt(ciphertext) == "derived"
    settings.SECRET_KEY = "another-secret-key-entirely"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(ciphertext)


def test_the_first_key_encrypts_and_every_key_decrypts(settings) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    old_ciphertext = crypto.encrypt("rotate-me")
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert crypto.decrypt(old_ciphertext) == "rotate-me"
    new_ciphertext = crypto.encrypt("fresh")
    assert Fernet(NEW_KEY.encode()).decrypt(new_ciphertext) == b"fresh"
    rotated = crypto.rotate(old_ciphertext)
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    assert crypto.decrypt(rotated) == "rotate-me"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(old_ciphertext)


def test_keys_with_spaces_after_commas_work(settings) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY, " " + OLD_KEY]
    assert crypto.decrypt(Fernet(OLD_KEY.encode()).encrypt(b"x")) == "x"


def test_a_bad_key_fails_loudly(settings) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.TOKEN_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("x")
    ids = {m.id for m in run_checks(tags=["security"])}
    assert "panel.E001" in ids


def test_rotate_token_keys_re_encrypts_every_token_with_the_first_key(db, settings) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    for name in ("A", "B"):
        stored = TeamToken(team=Team.objects.create(name=name))
        stored.set_token(f"token-of-{name}")
        stored.save()
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_token_keys", stdout=StringIO())
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]  # the old key dropped
    tokens = {t.team.name: t.get_token() for t in TeamToken.objects.select_related("team")}
    assert tokens == {"A": "token-of-A", "B": "token-of-B"}


def test_rotate_token_keys_reports_tokens_no_key_opens(db, settings) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    stored = TeamToken(team=Team.objects.create(name="Lost"))
    stored.set_token("lost-token")
    stored.save()
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(CommandError, match="Lost"):
        call_command("rotate_token_keys", stdout=StringIO())


def test_check_deploy_warns_without_token_encryption_keys(settings) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = []
    messages = run_checks(include_deployment_checks=True, tags=["security"])
    assert "panel.W001" in {m.id for m in messages}
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    messages = run_checks(include_deployment_checks=True, tags=["security"])
    assert "panel.W001" not in {m.id for m in messages}


def test_the_warning_is_only_for_deploy_checks(settings) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = []
    assert "panel.W001" not in {m.id for m in run_checks(tags=["security"])}


def test_setting_keys_as_the_deploy_check_advises_keeps_the_stored_tokens(db, settings) -> None:
    """The check says: set TOKEN_ENCRYPTION_KEYS, then run rotate_token_keys. The tokens
    stored before were under the key derived from SECRET_KEY, which no listed key is: the
    rotation must still open them and move them to the first key."""
    settings.TOKEN_ENCRYPTION_KEYS = []
    stored = TeamToken(team=Team.objects.create(name="Before"))
    stored.set_token("token-from-before")
    stored.save()
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    call_command("rotate_token_keys", stdout=StringIO())
    stored.refresh_from_db()
    assert stored.get_token() == "token-from-before"
    assert Fernet(NEW_KEY.encode()).decrypt(bytes(stored.encrypted)) == b"token-from-before"


def test_once_keys_are_set_the_derived_key_opens_nothing_at_run_time(db, settings) -> None:
    """Only the rotation tries the derived key: whoever learns SECRET_KEY cannot plant a
    token of their own, and the panel encrypts with the listed key."""
    settings.TOKEN_ENCRYPTION_KEYS = []
    ciphertext = crypto.encrypt("derived")
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(ciphertext)
    assert Fernet(NEW_KEY.encode()).decrypt(crypto.encrypt("new")) == b"new"
