"""normalise_email's quick way (a plain local part, the domain's verdict from a memo) answers as email_validator."""

from __future__ import annotations

import random
import string

import pytest
from email_validator import EmailNotValidError, validate_email

from digest.services.subscribers import InvalidSubscriber, normalise_email

ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
ACCEPTED = ["example.org", "EXAMPLE.ORG", "Mail.Example.Cn", "xn--fsq.com", "例子.中国", "b" * 63 + ".org", "qq.com"]
REFUSED = {"localhost", "test", "a.invalid", "x.org.", ".x.org", "x..org", "-x.org", "x-.org", "1.2.3.4", "[1.2.3.4]"}
REFUSED |= {"a" * 64 + ".org", "ex_ample.org"}
LOCALS = ["a", "A.B", "a..b", ".a", "a.", "first.last", "x" * 64, "x" * 65, '"quoted"', "ä", "a b", "a+tag", "#!$%"]


def _expected(address: str) -> str | None:
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _ours(address: str) -> str | None:
    try:
        return normalise_email(address)
    except InvalidSubscriber:
        return None


def _random_local(rng: random.Random) -> str:
    parts = ["".join(rng.choice(ATEXT) for _ in range(rng.randint(1, 12))) for _ in range(rng.randint(1, 3))]
    return ".".join(parts)


@pytest.mark.parametrize("domain", ACCEPTED + sorted(REFUSED))
def test_the_quick_way_and_email_validator_agree(domain):
    rng = random.Random(domain)
    addresses = [f"{local}@{domain}" for local in [*LOCALS, *(_random_local(rng) for _ in range(200))]]
    addresses += [f" {addresses[0]} ", f"{'y' * 60}@{'z' * 190}.org", f"a@b@{domain}"]
    answers = {a: _ours(a) for a in addresses}
    assert answers == {a: _expected(a) for a in addresses}
    assert any(v is not None for v in answers.values()) == (domain not in REFUSED)


def test_a_refused_address_names_the_email_field_and_says_why():
    with pytest.raises(InvalidSubscriber) as caught:
        normalise_email("someone@localhost")
    assert caught.value.field == "email" and "localhost" in str(caught.value) and "period" in str(caught.value)
