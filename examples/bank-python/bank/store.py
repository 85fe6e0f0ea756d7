"""The bank's databases: a mock in memory for unit tests, and SQLite for the service."""

from __future__ import annotations

import sqlite3
from typing import Dict, Optional

from .logic import StoreError


class MockDatabase:
    """Balances in a dict, and the writes of the open transaction until it commits. ``fail_commit``
    makes every commit fail (as SQLite's "database is locked" would)."""

    def __init__(self, balances: Optional[Dict[str, int]] = None, *, fail_commit: bool = False) -> None:
        self.balances: Dict[str, int] = dict(balances or {})
        self.staged: Optional[Dict[str, int]] = None
        self.fail_commit = fail_commit

    def create_account(self, account: str, balance: int) -> bool:
        if account in self.balances:
            return False
        self.balances[account] = balance
        return True

    def read_balance(self, account: str) -> Optional[int]:
        return self.balances.get(account)

    def begin(self) -> None:
        self.staged = {}

    def update_balance(self, account: str, balance: int) -> None:
        if self.staged is None:
            raise StoreError("no transaction")
        self.staged[account] = balance

    def commit(self) -> None:
        if self.staged is None:
            raise StoreError("no transaction")
        if self.fail_commit:
            raise StoreError("database is locked")
        self.balances.update(self.staged)
        self.staged = None

    def rollback(self) -> None:
        self.staged = None


class SqliteStore:
    """The accounts table in SQLite, over one connection (the bank runs one operation at a time).
    Pass a connection the sqlite3 instrumentation wraps to get its spans. Transactions are explicit
    statements (``BEGIN``, ``COMMIT``, ``ROLLBACK``), so the driver's spans show them."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        cursor = connection.cursor()
        cursor.execute("CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, balance INTEGER NOT NULL)")
        cursor.close()

    @staticmethod
    def connect(path: str = ":memory:") -> sqlite3.Connection:
        # Autocommit mode (isolation_level=None): BEGIN and COMMIT are the bank's own statements.
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def _execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        try:
            cursor = self.connection.cursor()
            cursor.execute(sql, params)
            return cursor
        except sqlite3.Error as e:
            raise StoreError(str(e)) from e

    def create_account(self, account: str, balance: int) -> bool:
        try:
            self._execute("INSERT INTO accounts (id, balance) VALUES (?, ?)", (account, balance)).close()
        except StoreError as e:
            if isinstance(e.__cause__, sqlite3.IntegrityError):
                return False
            raise
        return True

    def read_balance(self, account: str) -> Optional[int]:
        cursor = self._execute("SELECT balance FROM accounts WHERE id = ?", (account,))
        row = cursor.fetchone()
        cursor.close()
        return None if row is None else int(row[0])

    def begin(self) -> None:
        self._execute("BEGIN").close()

    def update_balance(self, account: str, balance: int) -> None:
        self._execute("UPDATE accounts SET balance = ? WHERE id = ?", (balance, account)).close()

    def commit(self) -> None:
        self._execute("COMMIT").close()

    def rollback(self) -> None:
        self._execute("ROLLBACK").close()
