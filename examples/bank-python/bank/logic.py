"""The bank's withdraw logic, as in the Rust seed (`examples/bank/logic.rs`): no web framework and no
database of its own, so the same code runs in a unit test over a mock database and in the Flask
service over SQLite, and makes the spans `queries/bank.model` is about:

    /:account/withdraw     server    http.request.method, http.route, url.path, http.response.status_code
    ├─ fetch-balance       internal  amount = balance, account.id
    │  └─ select-balance   client    SELECT balance FROM accounts WHERE id = ?
    └─ withdrawal          internal  amount = requested amount, account.id
       ├─ begin            client    BEGIN
       ├─ update-balance   client    UPDATE accounts SET balance = ? WHERE id = ?   (when committing)
       └─ commit | rollback client   COMMIT / ROLLBACK

The tracer is handed in by the caller (never the global provider), so tests running side by side,
each with a tracer provider of its own, keep their spans apart.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Dict, Optional, Protocol, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

#: The route of the withdraw endpoint, also the name of its server span.
WITHDRAW_ROUTE = "/:account/withdraw"

T = TypeVar("T")


class StoreError(Exception):
    """A failed database call; its message becomes the failing span's status description."""


class Store(Protocol):
    """The database operations the bank needs; one open transaction at a time."""

    def create_account(self, account: str, balance: int) -> bool: ...
    def read_balance(self, account: str) -> Optional[int]: ...
    def begin(self) -> None: ...
    def update_balance(self, account: str, balance: int) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


@dataclass
class Reply:
    """An HTTP answer without the HTTP: a status code and a JSON body (``{"error": ...}`` on 4xx/5xx)."""

    status: int
    body: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def error(cls, status: int, message: str) -> "Reply":
        return cls(status, {"error": message})

    @property
    def message(self) -> Optional[str]:
        return self.body.get("error")


# The database calls of a withdrawal: span name, db.operation.name, db.query.text.
_DB_OPS = {
    "select": ("select-balance", "SELECT", "SELECT balance FROM accounts WHERE id = ?"),
    "begin": ("begin", "BEGIN", "BEGIN"),
    "update": ("update-balance", "UPDATE", "UPDATE accounts SET balance = ? WHERE id = ?"),
    "commit": ("commit", "COMMIT", "COMMIT"),
    "rollback": ("rollback", "ROLLBACK", "ROLLBACK"),
}


class Bank:
    """Withdrawals over a :class:`Store`, traced with the tracer it was built with.

    ``balance_check=False`` is the seed's bug: no balance check, so an overdraft is committed and the
    balance goes negative. ``db_spans=False`` leaves the database spans to the database driver's own
    instrumentation (the Flask service over an instrumented sqlite3 connection).
    """

    def __init__(self, store: Store, tracer: Tracer, *, balance_check: bool = True, db_spans: bool = True) -> None:
        self.store = store
        self.tracer = tracer
        self.balance_check = balance_check
        self.db_spans = db_spans
        # The balance is read before the transaction opens (the seed's trace shape), so two
        # withdrawals at once from one account would both pass the check: one operation at a time.
        self._serial = threading.Lock()

    def create_account(self, account: str, balance: int) -> Reply:
        """``POST /accounts``: 201, 409 if the id is taken, 400 for a bad id or a negative balance.
        Not traced: the models are about withdrawals."""
        if not account or "/" in account:
            return Reply.error(400, "the account id must be non-empty and without '/'")
        if balance < 0:
            return Reply.error(400, "the balance must not be negative")
        with self._serial:
            try:
                created = self.store.create_account(account, balance)
            except StoreError as e:
                return Reply.error(500, str(e))
        if not created:
            return Reply.error(409, "the account exists")
        return Reply(201, {"id": account, "balance": balance})

    def balance(self, account: str) -> Reply:
        """``GET /<account>/balance``: 200, or 404 for an unknown account. Not traced."""
        with self._serial:
            try:
                balance = self.store.read_balance(account)
            except StoreError as e:
                return Reply.error(500, str(e))
        if balance is None:
            return Reply.error(404, "no such account")
        return Reply(200, {"id": account, "balance": balance})

    def withdraw_endpoint(self, account: str, amount: int, parent: Optional[otel_context.Context] = None) -> Reply:
        """``POST /<account>/withdraw`` with the server span ``/:account/withdraw`` made here (a
        framework's instrumentation makes its own: call :meth:`withdraw` inside it instead).
        ``parent`` is a context from a ``traceparent`` header; none: a new trace."""
        attributes = {
            "http.request.method": "POST",
            "http.route": WITHDRAW_ROUTE,
            "url.path": f"/{account}/withdraw",
        }
        with self.tracer.start_as_current_span(
            WITHDRAW_ROUTE,
            context=parent if parent is not None else otel_context.Context(),
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as server:
            reply = self.withdraw(account, amount)
            server.set_attribute("http.response.status_code", reply.status)
            if reply.status >= 500:
                server.set_status(Status(StatusCode.ERROR, reply.message or ""))
        return reply

    def withdraw(self, account: str, amount: int) -> Reply:
        """The withdrawal under the current span: fetch-balance, then withdrawal. 200 with the new
        balance; 500 for an overdraft (correct bank only) or a store error; 404 for an unknown
        account; 400 for an amount that is not positive (no spans)."""
        if amount <= 0:
            return Reply.error(400, "the amount must be positive")
        with self._serial:
            with self._internal("fetch-balance", account) as fetch:
                try:
                    balance = self._db("select", lambda s: s.read_balance(account))
                except StoreError as e:
                    return Reply.error(500, str(e))
                if balance is None:
                    return Reply.error(404, "no such account")
                fetch.set_attribute("amount", balance)
            with self._internal("withdrawal", account) as w:
                w.set_attribute("amount", amount)
                return self._transaction(account, balance, amount)

    def _transaction(self, account: str, balance: int, amount: int) -> Reply:
        try:
            self._db("begin", lambda s: s.begin())
        except StoreError as e:
            return Reply.error(500, str(e))  # nothing is open, nothing to roll back
        if self.balance_check and amount > balance:
            try:
                self._db("rollback", lambda s: s.rollback())
            except StoreError:
                pass  # the answer stays "insufficient funds"; the span says why
            return Reply.error(500, "insufficient funds")
        new_balance = balance - amount
        try:
            self._db("update", lambda s: s.update_balance(account, new_balance))
            self._db("commit", lambda s: s.commit())
        except StoreError as e:
            try:
                self._db("rollback", lambda s: s.rollback())
            except StoreError:
                pass
            return Reply.error(500, str(e))
        return Reply(200, {"id": account, "balance": new_balance})

    def _internal(self, name: str, account: str) -> ContextManager[trace.Span]:
        return self.tracer.start_as_current_span(
            name, kind=SpanKind.INTERNAL, attributes={"account.id": account}
        )

    def _db(self, op: str, call: Callable[[Store], T]) -> T:
        """One store call, inside a client span (unless the driver makes its own); a failure sets
        the span's status to error and records an ``exception`` event."""
        if not self.db_spans:
            return call(self.store)
        name, operation, query = _DB_OPS[op]
        attributes = {
            "db.system.name": "sqlite",
            "db.namespace": "bank",
            "db.user": "bank",
            "db.operation.name": operation,
            "db.query.text": query,
        }
        with self.tracer.start_as_current_span(
            name, kind=SpanKind.CLIENT, attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                return call(self.store)
            except StoreError as e:
                span.set_status(Status(StatusCode.ERROR, str(e)))
                span.add_event("exception", {"exception.type": "StoreError", "exception.message": str(e)})
                raise
