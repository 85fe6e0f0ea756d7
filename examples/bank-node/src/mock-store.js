'use strict';
// The bank's store for unit tests: balances in memory, the writes of the open transaction staged
// until it commits; faults on demand (a commit that fails, a slow database).

const { StoreError } = require('./bank');

class MockDatabase {
  /**
   * @param {object} [options]
   * @param {string} [options.failCommit] every commit fails with this message (the staged writes are kept
   *   until the rollback), like SQLite's "database is locked".
   * @param {number} [options.latencyMs=0] each call waits this long, like a slow database.
   */
  constructor({ failCommit, latencyMs = 0 } = {}) {
    this.balances = new Map();
    this.staged = null;
    this.failCommit = failCommit;
    this.latencyMs = latencyMs;
  }

  async _wait() {
    if (this.latencyMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    }
  }

  async createAccount(id, balance) {
    await this._wait();
    if (this.balances.has(id)) {
      return false;
    }
    this.balances.set(id, balance);
    return true;
  }

  async readBalance(id) {
    await this._wait();
    return this.balances.get(id);
  }

  async begin() {
    await this._wait();
    if (this.staged) {
      throw new StoreError('a transaction is already open');
    }
    this.staged = new Map();
  }

  async updateBalance(id, balance) {
    await this._wait();
    if (!this.staged) {
      throw new StoreError('no transaction');
    }
    this.staged.set(id, balance);
  }

  async commit() {
    await this._wait();
    if (!this.staged) {
      throw new StoreError('no transaction');
    }
    if (this.failCommit) {
      throw new StoreError(this.failCommit);
    }
    for (const [id, balance] of this.staged) {
      this.balances.set(id, balance);
    }
    this.staged = null;
  }

  async rollback() {
    await this._wait();
    this.staged = null;
  }
}

module.exports = { MockDatabase };
