"""Which faults stop a send and which fail one delivery.

A message that cannot be built for a reason that is not the subscriber's (a
template missing or broken, a list setting that cannot go into a header, the
site's settings) would fail every subscriber alike. Such a fault is a
`SetupError`: the run stops with one line saying what to fix, and every row it
held goes back to where it was, so the next run sends them once the fault is
fixed. Only a `RecipientError`, a fault of one subscriber's own data (their
name, their address), fails that subscriber's row and lets the others go.

Anything else raised while a message is built (a bug) is treated as a setup
fault too: stopping costs a rerun, failing everyone would cost their digests.
"""

from __future__ import annotations


class SetupError(Exception):
    """The installation or configuration stops every message: fix it and run again; no row is blamed."""


class SettingError(SetupError, ValueError):
    """A list's or the site's setting that cannot go into a message (a line break in the sender name, …)."""


class RecipientError(ValueError):
    """One subscriber's own data cannot go into a message (a line break in their name, a malformed address)."""
