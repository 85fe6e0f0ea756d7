//! [`Store`] over a SQLite file (rusqlite): one connection behind a mutex, and the transaction
//! statements run as plain SQL, so the statement in each span's `db.query.text` is exactly the one
//! SQLite ran.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

use crate::logic::{Store, StoreError};

/// The bank's accounts in a SQLite database file.
///
/// ```ignore
/// let store = SqliteStore::open(Path::new("/tmp/bank.db"))?;
/// assert!(store.create_account("acct-1", 300)?);
/// assert_eq!(store.read_balance("acct-1")?, Some(300));
/// ```
pub struct SqliteStore {
    // One connection: `Bank` runs one operation at a time, and a transaction opened by `begin`
    // must see the `update_balance` and `commit` that follow on the same connection.
    conn: Mutex<Connection>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError(e.to_string())
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and creates the `accounts` table if missing.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, balance INTEGER NOT NULL)")?;
        Ok(SqliteStore { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held leaves SQLite itself consistent (at worst a transaction
        // stays open, and the next BEGIN reports it).
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for SqliteStore {
    fn create_account(&self, id: &str, balance: i64) -> Result<bool, StoreError> {
        let conn = self.conn();
        let inserted = conn
            .prepare_cached("INSERT INTO accounts (id, balance) VALUES (?, ?) ON CONFLICT (id) DO NOTHING")?
            .execute(params![id, balance])?;
        Ok(inserted == 1)
    }

    fn read_balance(&self, id: &str) -> Result<Option<i64>, StoreError> {
        let conn = self.conn();
        let balance = conn
            .prepare_cached("SELECT balance FROM accounts WHERE id = ?")?
            .query_row(params![id], |row| row.get(0))
            .optional()?;
        Ok(balance)
    }

    fn begin(&self) -> Result<(), StoreError> {
        Ok(self.conn().execute_batch("BEGIN")?)
    }

    fn update_balance(&self, id: &str, balance: i64) -> Result<(), StoreError> {
        let conn = self.conn();
        let updated = conn
            .prepare_cached("UPDATE accounts SET balance = ? WHERE id = ?")?
            .execute(params![balance, id])?;
        match updated {
            1 => Ok(()),
            _ => Err(StoreError(format!("no account {id:?} to update"))),
        }
    }

    fn commit(&self) -> Result<(), StoreError> {
        Ok(self.conn().execute_batch("COMMIT")?)
    }

    fn rollback(&self) -> Result<(), StoreError> {
        Ok(self.conn().execute_batch("ROLLBACK")?)
    }
}
