'use strict';
// The bank's withdraw logic (the Node twin of examples/bank/logic.rs): no web framework, no
// database, so the same code runs behind Express over Postgres and in a unit test over a mock store,
// and makes the span tree that queries/bank.model and docs/BANK.md describe:
//
//   /:account/withdraw     server    http.request.method, http.route, url.path, http.response.status_code
//   ├─ fetch-balance       internal  amount = balance, account.id
//   │  └─ select-balance   client    SELECT balance FROM accounts WHERE id = ?
//   └─ withdrawal          internal  amount = requested amount, account.id
//      ├─ begin            client    BEGIN
//      ├─ update-balance   client    UPDATE accounts SET balance = ? WHERE id = ?   (when committing)
//      └─ commit | rollback client   COMMIT / ROLLBACK
//
// The tracer is handed in by the caller (never the global provider), and every span gets its parent
// from an explicit context, so parallel tests, each with its own tracer provider, keep their spans
// apart and no context manager is needed. The database client spans are the bank's own when the
// store has no instrumentation (the mock store); with `traceDb: false` the store's driver makes
// them (pg under @opentelemetry/instrumentation-pg), as children of fetch-balance and withdrawal.

const { context, trace, SpanKind, SpanStatusCode } = require('@opentelemetry/api');

/** The route of the withdraw endpoint, also the name of the bank's server span. */
const WITHDRAW_ROUTE = '/:account/withdraw';

/** A failed database call; the message ends up as the failing span's status description. */
class StoreError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StoreError';
  }
}

/** An HTTP answer without the HTTP: a status code and a JSON body (`{ error }` for 4xx/5xx). */
class Reply {
  constructor(status, body) {
    this.status = status;
    this.body = body;
  }

  static ok(status, body) {
    return new Reply(status, body);
  }

  static error(status, message) {
    return new Reply(status, { error: message });
  }

  /** The error message of a 4xx/5xx reply. */
  get message() {
    return this.body && typeof this.body.error === 'string' ? this.body.error : undefined;
  }
}

/** The database calls of a withdrawal: span name, db.operation.name, db.query.text. */
const DB_OPS = {
  select: ['select-balance', 'SELECT', 'SELECT balance FROM accounts WHERE id = ?'],
  begin: ['begin', 'BEGIN', 'BEGIN'],
  update: ['update-balance', 'UPDATE', 'UPDATE accounts SET balance = ? WHERE id = ?'],
  commit: ['commit', 'COMMIT', 'COMMIT'],
  rollback: ['rollback', 'ROLLBACK', 'ROLLBACK'],
};

/**
 * The bank: withdrawals over a store, traced with the tracer it was built with.
 *
 * A store has async methods createAccount(id, balance) -> bool (false: the id is taken),
 * readBalance(id) -> number | undefined, begin(), updateBalance(id, balance), commit(), rollback();
 * each throws a StoreError on failure. The bank never calls begin again before commit or rollback.
 *
 * One operation runs at a time: the balance is read before the transaction opens (the trace shape
 * of the seed), so two concurrent withdrawals from one account would otherwise both pass the check
 * against the same balance.
 */
class Bank {
  /**
   * @param {object} store
   * @param {import('@opentelemetry/api').Tracer} tracer
   * @param {object} [options]
   * @param {boolean} [options.balanceCheck=true] false is the seed's bug: no balance check, so an
   *   overdraft is committed and the balance goes negative.
   * @param {boolean} [options.traceDb=true] the bank makes the database client spans itself; false
   *   when the store's driver is instrumented.
   */
  constructor(store, tracer, { balanceCheck = true, traceDb = true } = {}) {
    this.store = store;
    this.tracer = tracer;
    this.balanceCheck = balanceCheck;
    this.traceDb = traceDb;
    this._queue = Promise.resolve();
  }

  /** Runs `fn` after every operation queued before it (the bank's lock). */
  _serial(fn) {
    const result = this._queue.then(fn);
    this._queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** POST /accounts: 201, 409 if the id is taken, 400 for a bad id or balance, 500 on a store error. Not traced. */
  createAccount(id, balance) {
    if (typeof id !== 'string' || id === '' || id.includes('/')) {
      return Promise.resolve(Reply.error(400, "the account id must be non-empty and without '/'"));
    }
    if (!Number.isSafeInteger(balance) || balance < 0) {
      return Promise.resolve(Reply.error(400, 'the balance must be a non-negative integer'));
    }
    return this._serial(async () => {
      try {
        const created = await this.store.createAccount(id, balance);
        return created ? Reply.ok(201, { id, balance }) : Reply.error(409, 'the account exists');
      } catch (e) {
        return Reply.error(500, e.message);
      }
    });
  }

  /** GET /:account/balance: 200, 404 for an unknown account, 500 on a store error. Not traced. */
  balance(id) {
    return this._serial(async () => {
      try {
        const balance = await this.store.readBalance(id);
        return balance === undefined ? Reply.error(404, 'no such account') : Reply.ok(200, { id, balance });
      } catch (e) {
        return Reply.error(500, e.message);
      }
    });
  }

  /**
   * POST /:account/withdraw without a web framework: the whole span tree under a server span named
   * after the route, whose parent is `parent` (ROOT_CONTEXT for a new trace). The server span's
   * status is error exactly on 5xx.
   */
  async withdrawEndpoint(parent, account, amount) {
    const server = this.tracer.startSpan(
      WITHDRAW_ROUTE,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': 'POST',
          'http.route': WITHDRAW_ROUTE,
          'url.path': `/${account}/withdraw`,
        },
      },
      parent,
    );
    const reply = await this.withdraw(trace.setSpan(parent, server), account, amount);
    server.setAttribute('http.response.status_code', reply.status);
    if (reply.status >= 500) {
      server.setStatus({ code: SpanStatusCode.ERROR, message: reply.message || '' });
    }
    server.end();
    return reply;
  }

  /**
   * The withdrawal under the span in `cx` (the bank's server span, or the request span of a web
   * framework): fetch-balance, then withdrawal. Replies 200 { id, balance } (the new balance); 500
   * for an overdraft (correct bank only) or a store error; 404 for an unknown account (no
   * withdrawal span); 400 for an amount that is not a positive integer (no spans).
   */
  withdraw(cx, account, amount) {
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      return Promise.resolve(Reply.error(400, 'the amount must be a positive integer'));
    }
    return this._serial(() => this._withdraw(cx, account, amount));
  }

  async _withdraw(cx, account, amount) {
    const fetch = this._internal(cx, 'fetch-balance', account);
    let balance;
    try {
      balance = await this._db(fetch, 'select', (s) => s.readBalance(account));
      if (balance !== undefined) {
        trace.getSpan(fetch).setAttribute('amount', balance);
      }
    } catch (e) {
      return Reply.error(500, e.message);
    } finally {
      trace.getSpan(fetch).end();
    }
    if (balance === undefined) {
      return Reply.error(404, 'no such account');
    }
    const w = this._internal(cx, 'withdrawal', account);
    trace.getSpan(w).setAttribute('amount', amount);
    try {
      return await this._transaction(w, account, balance, amount);
    } finally {
      trace.getSpan(w).end();
    }
  }

  /** begin, then update-balance and commit, or rollback; under the withdrawal span in `w`. */
  async _transaction(w, account, balance, amount) {
    try {
      await this._db(w, 'begin', (s) => s.begin());
    } catch (e) {
      // Nothing is open, so there is nothing to roll back.
      return Reply.error(500, e.message);
    }
    if (this.balanceCheck && amount > balance) {
      // A failed rollback still leaves the answer at "insufficient funds"; its span says why.
      await this._db(w, 'rollback', (s) => s.rollback()).catch(() => undefined);
      return Reply.error(500, 'insufficient funds');
    }
    const newBalance = balance - amount;
    try {
      await this._db(w, 'update', (s) => s.updateBalance(account, newBalance));
      await this._db(w, 'commit', (s) => s.commit());
      return Reply.ok(200, { id: account, balance: newBalance });
    } catch (e) {
      await this._db(w, 'rollback', (s) => s.rollback()).catch(() => undefined);
      return Reply.error(500, e.message);
    }
  }

  /** Starts an internal span `name` with account.id under `parent`; returns its context. */
  _internal(parent, name, account) {
    const span = this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes: { 'account.id': account } }, parent);
    return trace.setSpan(parent, span);
  }

  /**
   * Runs one store call in the context `parent` (so an instrumented driver's spans get it as
   * parent), inside a client span of the bank's unless traceDb is false; a failure sets the span's
   * status to error and records the exception.
   */
  async _db(parent, op, call) {
    if (!this.traceDb) {
      return context.with(parent, () => call(this.store));
    }
    const [name, operation, query] = DB_OPS[op];
    const span = this.tracer.startSpan(
      name,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'sqlite',
          'db.namespace': 'bank',
          'db.user': 'bank',
          'db.operation.name': operation,
          'db.query.text': query,
        },
      },
      parent,
    );
    try {
      return await context.with(trace.setSpan(parent, span), () => call(this.store));
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
      span.recordException({ name: e.name, message: e.message });
      throw e;
    } finally {
      span.end();
    }
  }
}

module.exports = { Bank, Reply, StoreError, WITHDRAW_ROUTE };
