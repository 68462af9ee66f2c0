"""Writing a batch's delivery outcomes and claims: one commit per message, one round trip on PostgreSQL.

A message may leave only once its row is committed as `sending`, and its
outcome must be committed before the next message leaves, or a crash could
double more than the one message in flight. So each message costs one commit,
which carries the outcomes recorded since the last one and the next claim.

On PostgreSQL that commit is a single statement (the outcomes and suppressions
as data-modifying CTEs of the claim) on an autocommit connection: atomic, and
one round trip instead of BEGIN, two UPDATEs and COMMIT. Elsewhere (SQLite,
on the same disk) the statements run in one ordinary transaction. Statements
are built once per shape with bound parameters: building and compiling them
per message cost more than the database's own work. On PostgreSQL the compiled
statement then goes to libpq as a server-side prepared statement
(digest/adapters/storage/pg_statements.py), and `start_commit` returns as soon as it is
sent: the Sender (services/delivery/sender.py) opens the next SMTP transaction and
builds the next message while the commit travels, then reads its result, all on one thread.

Each Ledger holds its rows under a random id of its own (`held_by`): `take` marks the
batch's queued rows with it, a claim needs it, and the heartbeat (`renew`, one UPDATE
every `heartbeat`, riding on the commits) and `release` touch only rows carrying it. So
two batches over the same ids (a redelivered task) never move each other's rows, and the
sweeper can tell a dead batch's rows (not renewed for a lease) from a live one's.
"""

from __future__ import annotations

import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Update,
    bindparam,
    case,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError

from digest.adapters.storage import models
from digest.adapters.storage.pg_statements import PreparedStatement, ServerStatements
from digest.adapters.storage.planner import checked_on_the_row
from digest.core.clock import SYSTEM_CLOCK, Clock
from digest.core.settings import DEFAULT_HEARTBEAT
from digest.core.statuses import DeliveryStatus, IssueStatus

_deliveries = models.Delivery.__table__
_suppressions = models.Suppression.__table__
_issues = models.Issue.__table__
# Rows are found by primary key; the status is checked on the row found (see the planner module).
_status = checked_on_the_row(_deliveries.c.status)
# The same for the holder in a claim: the heartbeat's index on it must not lead the claim astray.
_holder_of_the_row = checked_on_the_row(_deliveries.c.held_by)


@dataclass(frozen=True)
class Claim:
    """queued → sending for one row, only while its issue is sending; exactly one claimant wins."""

    delivery_id: int
    issue_id: int
    message_id: str
    article_ids: tuple[int, ...]


class Ledger:
    """Outcomes waiting to be written with the next claim, over one connection per batch.

    Every write is conditional on the state it expects, so a row that the
    sweeper or a pause moved meanwhile is left as they left it.
    """

    def __init__(
        self, engine: Engine, *, clock: Clock = SYSTEM_CLOCK, heartbeat: timedelta = DEFAULT_HEARTBEAT
    ) -> None:
        self._engine = engine
        self._clock = clock  # stamps updated_at, which the sweeper's lease is measured from
        self.holder = secrets.token_hex(16)  # this batch run's mark on the rows it holds
        self._heartbeat = heartbeat
        self._renewed = clock.now()
        self._conn = cast(Connection, None)  # opened by __enter__: a Ledger is used only inside `with`
        self._single_statement = engine.dialect.name == "postgresql"
        self._writes: list[tuple[int, str, dict[str, object]]] = []
        self._suppress: dict[str, str] = {}
        self._pending = False  # a commit sent and not yet read (PostgreSQL)
        self._server: ServerStatements | None = None
        self._sent: tuple[PreparedStatement, dict[str, object]]  # the last commit sent (PostgreSQL)

    def __enter__(self) -> Ledger:
        self._connect()
        return self

    def _connect(self) -> None:
        self._conn = self._engine.connect()
        if self._single_statement:
            self._conn.execution_options(isolation_level="AUTOCOMMIT")
            self._server = ServerStatements(self._conn)

    def _reconnect(self) -> None:
        """The connection died under the batch (a database restart, a terminated backend): the batch goes
        on over a new one. Its rows stay its own: they carry its holder id, not the connection's."""
        with suppress(Exception):
            self._conn.invalidate()
            self._conn.close()
        self._pending = False
        self._connect()

    def __exit__(self, *exc: object) -> None:
        try:
            if self._pending:
                self._receive()  # left unread by an error: the connection goes back to the pool idle
            if self._server is not None:
                self._server.close()
        except Exception:
            pass
        finally:
            self._conn.close()

    def take(self, delivery_ids: list[int]) -> None:
        """The batch's rows still queued become this batch's: only it may claim, renew or release them.

        A second batch over the same ids takes whatever the first has not claimed yet;
        the first's claims of those rows are then refused, so each row goes once.
        """
        self.commit()
        now = self._renewed = self._clock.now()
        self._execute(
            update(_deliveries)
            .where(_deliveries.c.id.in_(delivery_ids), _status == DeliveryStatus.QUEUED)
            .values(held_by=self.holder, updated_at=now)
        )

    def _renew_if_due(self) -> None:
        """The heartbeat: rows this batch still holds stay inside their lease while it works."""
        now = self._clock.now()
        if now - self._renewed < self._heartbeat:
            return
        self._renewed = now
        held = _status.in_((DeliveryStatus.SENDING, DeliveryStatus.QUEUED))
        self._execute(update(_deliveries).where(_deliveries.c.held_by == self.holder, held).values(updated_at=now))

    def _execute(self, statement: Update) -> None:
        try:
            self._conn.execute(statement)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            self._reconnect()  # conditional on this batch's holder id: once more is safe
            self._conn.execute(statement)
        if not self._single_statement:
            self._conn.commit()

    def record(self, delivery_id: int, expected: str, **values: object) -> None:
        """Row `delivery_id`, if still `expected`, takes `values` at the next commit."""
        self._writes.append((delivery_id, expected, values))

    def suppress(self, email: str, reason: str) -> None:
        self._suppress.setdefault(email, reason)

    def commit(self, claim: Claim | None = None) -> bool:
        """Writes what was recorded, with `claim` if given; True when the claim took its row."""
        return self.start_commit(claim).result()

    def start_commit(self, claim: Claim | None = None) -> PendingCommit:
        """`commit`, whose result is read when the caller asks for it.

        On PostgreSQL the statement leaves now and its reply is read by `result()`,
        so the caller can work meanwhile; until then nothing else may use the ledger.
        """
        if self._pending:
            raise RuntimeError("the ledger's last commit has not been read yet")
        if not self._writes and not self._suppress and claim is None:
            return PendingCommit(None, False)
        self._renew_if_due()
        now = self._clock.now()
        shape = (tuple(tuple(sorted(v)) for _, _, v in self._writes), len(self._suppress), claim is not None)
        params: dict[str, object] = {}
        for i, (delivery_id, expected, values) in enumerate(self._writes):
            params.update({f"w{i}_id": delivery_id, f"w{i}_expected": expected, f"w{i}_updated_at": now})
            params.update({f"w{i}_{k}": v for k, v in values.items()})
        for i, (email, reason) in enumerate(self._suppress.items()):
            params.update({f"s{i}_email": email, f"s{i}_reason": reason, f"s{i}_created_at": now})
        if claim is not None:
            params.update(
                c_id=claim.delivery_id,
                c_issue=claim.issue_id,
                c_message_id=claim.message_id,
                c_count=len(claim.article_ids),
                c_articles=list(claim.article_ids),
                c_now=now,
                c_holder=self.holder,
            )
        self._writes.clear()
        self._suppress.clear()
        statements = _statements(self._engine.dialect, shape)
        if self._single_statement:
            # (The casts: with a single statement there is a ServerStatements, and _statements made one.)
            [statement] = cast("list[PreparedStatement]", statements)
            self._sent = (statement, params)
            try:
                cast(ServerStatements, self._server).send(statement, params)
            except Exception:
                if not cast(ServerStatements, self._server).connection_lost():
                    raise
                self._reconnect()
                cast(ServerStatements, self._server).send(statement, params)
            self._pending = True
            return PendingCommit(self, claim is not None)
        with self._conn.begin():
            for dml in cast("list[Update | Insert]", statements):
                result = self._conn.execute(dml, params)
        return PendingCommit(None, claim is not None and bool(result.rowcount))

    def _receive(self) -> int:
        self._pending = False
        server = cast(ServerStatements, self._server)  # only a single-statement ledger has a commit to read
        try:
            return server.receive()
        except Exception:
            if not server.connection_lost():
                raise
        # Lost with the commit in flight, which either committed whole or not at all. Every part is
        # conditional, so sending it again changes nothing that already happened; a claim that had
        # taken its row reads as refused, and the row, held and unsent, returns after the lease.
        self._reconnect()
        server = cast(ServerStatements, self._server)
        server.send(*self._sent)
        return server.receive()

    def release(self, delivery_ids: list[int]) -> None:
        """Rows this batch holds, among `delivery_ids`, go back to the queue when it stops early, their
        attempt not counted. A row another batch took meanwhile is that batch's: it stays as it is."""
        self.commit()
        held = _status.in_((DeliveryStatus.SENDING, DeliveryStatus.QUEUED))
        self._execute(
            update(_deliveries)
            .where(_deliveries.c.id.in_(delivery_ids), _deliveries.c.held_by == self.holder, held)
            .values(
                status=DeliveryStatus.PENDING,
                held_by=None,
                attempts=case(
                    (_deliveries.c.status == DeliveryStatus.SENDING, _deliveries.c.attempts - 1),
                    else_=_deliveries.c.attempts,
                ),
            )
        )


class PendingCommit:
    """A commit whose result the caller reads when it needs it."""

    __slots__ = ("_claimed", "_ledger")

    def __init__(self, ledger: Ledger | None, claimed: bool) -> None:
        self._ledger, self._claimed = ledger, claimed  # ledger: None once the result is in

    def result(self) -> bool:
        """True when the claim took its row; raises what the database said if the commit failed."""
        if self._ledger is not None:
            ledger, self._ledger = self._ledger, None
            expected, self._claimed = self._claimed, False  # stays False if the commit failed
            self._claimed = bool(ledger._receive()) and expected
        return self._claimed


@lru_cache(maxsize=256)
def _statements(
    dialect: Dialect, shape: tuple[tuple[tuple[str, ...], ...], int, bool]
) -> list[Update | Insert] | list[PreparedStatement]:
    """The statements for one shape of commit, built once per process: compiling cost more than running."""
    writes, suppressions, with_claim = shape
    single = dialect.name == "postgresql"
    statements: list[Update | Insert] = [_outcome(i, keys) for i, keys in enumerate(writes)]
    statements += [_suppression(i, single) for i in range(suppressions)]
    if with_claim:
        statements.append(_CLAIM)
    if not single:
        return statements
    # The claim (or the last write) is the statement; the rest ride along as CTEs.
    *ctes, main = statements
    if ctes:
        main = main.add_cte(*(s.cte(f"cte{i}") for i, s in enumerate(ctes)))
    return [PreparedStatement.of(main, dialect)]


def _suppression(i: int, single_statement: bool) -> Insert:
    values: dict[str, Any] = {c: bindparam(f"s{i}_{c}") for c in ("email", "reason", "created_at")}
    values["kind"] = literal_column("'bounce'")  # refused during the send (the loop's kinds: models.Suppression)
    if single_statement:
        return pg_insert(_suppressions).values(values).on_conflict_do_nothing(index_elements=["email"])
    return insert(_suppressions).values(values).prefix_with("OR IGNORE")


def _outcome(i: int, keys: tuple[str, ...]) -> Update:
    return (
        update(_deliveries)
        .where(_deliveries.c.id == bindparam(f"w{i}_id"), _status == bindparam(f"w{i}_expected"))
        .values({k: bindparam(f"w{i}_{k}") for k in ("updated_at", *keys)})
    )


_CLAIM = (
    update(_deliveries)
    .where(
        _deliveries.c.id == bindparam("c_id"),
        _status == DeliveryStatus.QUEUED,
        _holder_of_the_row == bindparam("c_holder"),
        select(_issues.c.id)
        .where(_issues.c.id == bindparam("c_issue"), _issues.c.status == IssueStatus.SENDING)
        .exists(),
    )
    .values(
        status=DeliveryStatus.SENDING,
        attempts=_deliveries.c.attempts + 1,
        message_id=bindparam("c_message_id"),
        article_count=bindparam("c_count"),
        article_ids=bindparam("c_articles"),
        updated_at=bindparam("c_now"),
    )
)
