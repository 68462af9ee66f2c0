"""DIGEST_SECRET_KEY is refused when it is .env.example's placeholder or shorter than 32 characters, with an
error naming it; DIGEST_OLD_SECRET_KEYS is read as a comma-separated list of keys that only verify."""

from __future__ import annotations

import pytest

from digest.core.settings import PLACEHOLDER_SECRET, ConfigError, load_settings

GOOD = "a-secret-key-of-thirty-two-chars"


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for name in ("DIGEST_SECRET_KEY", "DIGEST_OLD_SECRET_KEYS", "DIGEST_NOW", "DIGEST_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_env_example_placeholder_is_refused(env):
    from pathlib import Path

    from dotenv import dotenv_values

    example = dotenv_values(Path(__file__).resolve().parents[1] / ".env.example")
    assert example["DIGEST_SECRET_KEY"] == PLACEHOLDER_SECRET
    env.setenv("DIGEST_SECRET_KEY", PLACEHOLDER_SECRET)
    with pytest.raises(ConfigError, match=r"^DIGEST_SECRET_KEY is still the placeholder"):
        load_settings()


@pytest.mark.parametrize("length", [16, 31])
def test_a_key_under_32_characters_is_refused(env, length):
    env.setenv("DIGEST_SECRET_KEY", "k" * length)
    with pytest.raises(ConfigError, match=r"^DIGEST_SECRET_KEY is too short: use at least 32"):
        load_settings()


def test_a_32_character_key_and_old_keys_are_read(env):
    assert len(GOOD) == 32
    env.setenv("DIGEST_SECRET_KEY", GOOD)
    env.setenv("DIGEST_OLD_SECRET_KEYS", " an-older-key-of-sixteen , ,the-oldest-one-too")
    settings = load_settings()
    assert settings.secret_key == GOOD
    # Old keys may be short: they were made under the old rule, and only verify.
    assert settings.old_secret_keys == ("an-older-key-of-sixteen", "the-oldest-one-too")
    assert settings.token_keys[-1] == GOOD
