"""The bounce mailbox's URLs, IMAP's folder names and sequence sets, and a local Maildir (no server)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digest.adapters.mailboxes import MailboxError, open_mailbox, parse_mailbox_url
from digest.adapters.mailboxes.imap import fetched_bodies, mailbox_name, sequence_set


def test_a_url_is_read_into_its_parts_and_shown_without_its_password():
    address = parse_mailbox_url(
        "imaps://bounce%40example.org:s%C3%A9cret%2F1@mail.example.org/Bounces%20%E9%80%80%E4%BF%A1"
    )
    assert (address.protocol, address.host, address.port) == ("imap", "mail.example.org", 993)
    assert (address.user, address.password) == ("bounce@example.org", "sécret/1")
    assert address.folder == "Bounces 退信" and address.implicit_tls and not address.starttls
    assert address.name == "imaps://bounce%40example.org@mail.example.org/Bounces%20%E9%80%80%E4%BF%A1"
    assert "cret" not in repr(address)

    pop = parse_mailbox_url("pop3://u:p@pop.example.org:1110?starttls=1&cafile=/etc/ca.pem")
    assert (pop.protocol, pop.port, pop.starttls, pop.folder) == ("pop3", 1110, True, "INBOX")
    assert pop.cafile == "/etc/ca.pem"
    assert pop.name == "pop3://u@pop.example.org:1110?starttls=1&cafile=/etc/ca.pem"
    assert parse_mailbox_url("imap://u:p@mail.example.org?starttls=1").port == 143
    assert parse_mailbox_url("pop3s://u:p@mail.example.org").port == 995
    assert parse_mailbox_url("maildir:///var/mail/bounces").path == Path("/var/mail/bounces")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("imap://u:hunter2@mail.example.org/INBOX", "in clear to mail.example.org"),
        ("pop3://u:hunter2@mail.example.org", "in clear"),
        ("imaps://u:hunter2@mail.example.org/INBOX?starttls=1", "TLS throughout"),
        ("imaps://u:hunter2@mail.example.org/INBOX?insecure=1&cafile=/x.pem", "choose one"),
        ("imaps://u:hunter2@mail.example.org/INBOX?verify=0", "unknown option(s) verify"),
        ("imaps://u:hunter2@mail.example.org/INBOX?starttls=maybe", "must be 1 or 0"),
        ("imaps://mail.example.org/INBOX", "user:password@"),
        ("imaps://u:hunter2@/INBOX", "no host"),
        ("imaps://u:hunter2@mail.example.org:99999/INBOX", "bad port"),
        ("pop3s://u:hunter2@mail.example.org/Bounces", "no folders"),
        ("https://u:hunter2@mail.example.org/", "scheme must be one of"),
        ("maildir://mail.example.org/var/mail", "a local path"),
    ],
)
def test_a_bad_url_is_refused_before_any_connection(url, says):
    with pytest.raises(MailboxError) as caught:
        open_mailbox(url)
    assert says in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_plain_imap_and_pop3_are_allowed_to_loopback():
    assert not parse_mailbox_url("imap://u:p@127.0.0.1:1143/INBOX").encrypted
    assert not parse_mailbox_url("pop3://u:p@localhost:1110").encrypted
    assert not parse_mailbox_url("imap://u:p@[::1]:1143/INBOX").encrypted


def test_folder_names_in_modified_utf7_and_quoted():
    # RFC 3501 5.1.3's own example, and the characters a quoted string escapes.
    assert mailbox_name("~peter/mail/台北/日本語") == '"~peter/mail/&U,BTFw-/&ZeVnLIqe-"'
    assert mailbox_name("A&B") == '"A&-B"'
    assert mailbox_name('say "hi"\\') == '"say \\"hi\\"\\\\"'


def test_uid_sets_fold_runs():
    assert sequence_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert sequence_set([5]) == "5"


def test_fetch_replies_with_the_uid_before_or_after_the_body():
    data = [(b"1 (UID 7 BODY[] {3}", b"abc"), b")", (b"2 (BODY[] {3}", b"def"), b" UID 9)", b"3 (FLAGS (\\Seen))"]
    assert fetched_bodies(data) == [(7, b"abc"), (9, b"def")]


def make_maildir(path: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True)
    return path


def put(maildir: Path, sub: str, name: str, raw: bytes, mtime: int) -> Path:
    path = maildir / sub / name
    path.write_bytes(raw)
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def maildir(tmp_path):
    box = make_maildir(tmp_path / "Maildir")
    # Delivered in this order (by mtime), whatever their names say; one already seen by a mail client.
    put(box, "new", "1800000003.M1P1.host", b"Subject: first\n\nbare LF kept\n", 1_800_000_001)
    put(box, "cur", "1800000001.M1P1.host:2,S", b"Subject: second\r\n\r\nCRLF kept\r\n", 1_800_000_002)
    put(box, "new", "1800000002.M1P1.host", b"Subject: third\n\n\xe9\x80\x80\xe4\xbf\xa1\n", 1_800_000_003)
    (box / "new" / ".hidden").write_bytes(b"not mail")
    return box


def test_a_maildir_is_read_oldest_first_as_the_files_are(maildir):
    with open_mailbox(f"maildir://{maildir}") as box:
        items = list(box.items())
        assert box.keeps_processed is False and box.name == f"maildir://{maildir}"
    assert [item.ref for item in items] == ["1800000003.M1P1.host", "1800000001.M1P1.host", "1800000002.M1P1.host"]
    assert [item.raw for item in items] == [
        b"Subject: first\n\nbare LF kept\n",
        b"Subject: second\r\n\r\nCRLF kept\r\n",
        b"Subject: third\n\n\xe9\x80\x80\xe4\xbf\xa1\n",
    ]
    with open_mailbox(f"maildir://{maildir}") as box:
        assert [item.ref for item in box.items(limit=1)] == ["1800000003.M1P1.host"]


def test_a_maildir_moves_processed_mail_into_a_maildir_plus_plus_folder(maildir):
    with open_mailbox(f"maildir://{maildir}") as box:
        first, second, third = box.items()
        # A mail client marks the third one read meanwhile: its ref still finds it.
        (maildir / "new" / third.ref).rename(maildir / "cur" / f"{third.ref}:2,S")
        box.finish([first.ref, second.ref, third.ref, "no-such-mail"])
        assert list(box.items()) == []
    processed = maildir / ".Processed"
    assert (processed / "maildirfolder").exists() and (processed / "tmp").is_dir()
    assert sorted(p.name for p in (processed / "cur").iterdir()) == [
        "1800000001.M1P1.host:2,S",
        "1800000002.M1P1.host:2,S",
        "1800000003.M1P1.host:2,",
    ]
    assert (processed / "cur" / "1800000003.M1P1.host:2,").read_bytes() == first.raw
    assert [p.name for p in (maildir / "new").iterdir()] == [".hidden"] and not list((maildir / "cur").iterdir())


def test_a_maildir_in_delete_mode_removes_processed_mail(maildir):
    with open_mailbox(f"maildir://{maildir}", delete_processed=True) as box:
        first, second, third = box.items()
        box.finish([first.ref, third.ref])
        assert [item.raw for item in box.items()] == [second.raw]
    assert not (maildir / ".Processed").exists()
    assert [p.name for p in (maildir / "cur").iterdir()] == ["1800000001.M1P1.host:2,S"]


def test_a_path_that_is_no_maildir_is_named(tmp_path):
    with pytest.raises(MailboxError, match=f"{tmp_path}: not a Maildir"):
        open_mailbox(f"maildir://{tmp_path}")
