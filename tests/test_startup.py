"""What `digest --help` costs: no password hashing while the commands are imported."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import argon2

hashes = []
real_hash = argon2.PasswordHasher.hash


def counting_hash(self, *args, **kwargs):
    hashes.append(1)
    return real_hash(self, *args, **kwargs)


argon2.PasswordHasher.hash = counting_hash

from digest.cli.commands import main

try:
    main(["--help"])
except SystemExit:
    pass
import digest.services.admins  # noqa: F401 - imported by the commands either way
print("hashes", len(hashes))
"""


def test_help_hashes_no_password(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "Usage:" in out
    assert out.strip().endswith("hashes 0"), out
