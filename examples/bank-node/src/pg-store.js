'use strict';
// The bank's store over Postgres with the `pg` driver: a pool; a transaction holds one client of it
// from BEGIN to COMMIT or ROLLBACK.

const { StoreError } = require('./bank');

const SCHEMA = 'CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, balance BIGINT NOT NULL)';

class PgStore {
  /** @param {import('pg').Pool} pool */
  constructor(pool) {
    this.pool = pool;
    this.tx = null;
  }

  /** Creates the accounts table if it is missing. */
  async migrate() {
    await this._call(() => this.pool.query(SCHEMA));
  }

  async _call(fn) {
    try {
      return await fn();
    } catch (e) {
      throw e instanceof StoreError ? e : new StoreError(e.message);
    }
  }

  createAccount(id, balance) {
    return this._call(async () => {
      const r = await this.pool.query(
        'INSERT INTO accounts (id, balance) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
        [id, balance],
      );
      return r.rowCount === 1;
    });
  }

  readBalance(id) {
    return this._call(async () => {
      const r = await this.pool.query('SELECT balance FROM accounts WHERE id = $1', [id]);
      return r.rows.length === 0 ? undefined : Number(r.rows[0].balance);
    });
  }

  begin() {
    return this._call(async () => {
      if (this.tx) {
        throw new StoreError('a transaction is already open');
      }
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
      } catch (e) {
        client.release();
        throw e;
      }
      this.tx = client;
    });
  }

  updateBalance(id, balance) {
    return this._call(async () => {
      if (!this.tx) {
        throw new StoreError('no transaction');
      }
      await this.tx.query('UPDATE accounts SET balance = $1 WHERE id = $2', [balance, id]);
    });
  }

  commit() {
    return this._end('COMMIT');
  }

  rollback() {
    return this._end('ROLLBACK');
  }

  _end(statement) {
    return this._call(async () => {
      const client = this.tx;
      if (!client) {
        throw new StoreError('no transaction');
      }
      this.tx = null;
      try {
        await client.query(statement);
      } finally {
        client.release();
      }
    });
  }
}

module.exports = { PgStore, SCHEMA };
