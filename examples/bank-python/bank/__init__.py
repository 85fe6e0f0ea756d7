"""The seed's bank as a small Python service (see logic.py for the spans it makes)."""

from .logic import WITHDRAW_ROUTE, Bank, Reply, Store, StoreError
from .store import MockDatabase, SqliteStore

__all__ = ["WITHDRAW_ROUTE", "Bank", "MockDatabase", "Reply", "SqliteStore", "Store", "StoreError"]
