'use strict';
// The bank as a real service: Express on 127.0.0.1 over Postgres through the `pg` driver, traced by
// the official OpenTelemetry auto-instrumentations of node:http, Express and pg, so the spans have
// the names and attributes real Node services produce. Postgres is PGlite (Postgres compiled to
// WebAssembly, from npm) behind its wire-protocol socket server on 127.0.0.1: pg talks to it over
// TCP as to any Postgres server, and nothing needs installing or building outside npm.
//
// Auto-instrumentation patches modules as they are loaded, so it is registered at the top of this
// file (node:test runs each file in a process of its own), before express and pg are required;
// each test then points the instrumentations at the tracer provider of its own capture.

const { context } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg');

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const instrumentations = [new HttpInstrumentation(), new ExpressInstrumentation(), new PgInstrumentation()];
registerInstrumentations({ instrumentations });

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { PGlite } = require('@electric-sql/pglite');
const { PGLiteSocketServer } = require('@electric-sql/pglite-socket');
const pg = require('pg');
const { SpanCapture, assertHolds, assertViolates, check } = require('tracecheck');
const { createApp } = require('../src/app');
const { Bank } = require('../src/bank');
const { PgStore } = require('../src/pg-store');
const { BANK_MODEL, redact } = require('./helpers');

const MODELS = path.relative(process.cwd(), path.join(__dirname, '..', 'models', 'express-pg.model'));
const OVERDRAFT = 'An overdraft is rolled back and answered 500';

let database;
let socketServer;
let postgres;

test.before(async () => {
  database = await PGlite.create();
  // One connection at a time is in use (each test's pool has one), but the pool of the test before
  // may still be closing its connection when the next test connects.
  socketServer = new PGLiteSocketServer({ db: database, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await socketServer.start();
  const [host, port] = socketServer.getServerConn().split(':');
  postgres = { host, port: Number(port), user: 'postgres', database: 'postgres' };
});

test.after(async () => {
  await socketServer.stop();
  await database.close();
});

/**
 * The bank served by Express on 127.0.0.1 over a fresh accounts table, traced into a capture of
 * its own; `run(request)` gets a function making JSON requests to it.
 */
async function withService({ balanceCheck }, run) {
  const capture = new SpanCapture({ serviceName: 'bank' });
  for (const i of instrumentations) {
    i.setTracerProvider(capture.tracerProvider);
  }
  const pool = new pg.Pool({ ...postgres, max: 1 });
  const store = new PgStore(pool);
  const bank = new Bank(store, capture.tracer('bank-instrumentation', '0.1.0'), { balanceCheck, traceDb: false });
  let server;
  try {
    await store.migrate();
    await pool.query('DELETE FROM accounts');
    server = createApp(bank).listen(0, '127.0.0.1');
    await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
    capture.clear(); // the set-up's statements
    const base = `http://127.0.0.1:${server.address().port}`;
    // fetch (undici) is not instrumented: the server span is the root of each trace.
    const request = async (method, url, body) => {
      const response = await fetch(base + url, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    };
    await run(request, capture);
  } finally {
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await pool.end();
  }
}

/** An account with 300, a covered withdrawal of 100, then an overdraft of 500. */
async function scenario(request, { balanceCheck }) {
  assert.equal((await request('POST', '/accounts', { id: 'acct-1', balance: 300 })).status, 201);
  assert.deepEqual(await request('POST', '/acct-1/withdraw', { amount: 100 }), {
    status: 200,
    body: { id: 'acct-1', balance: 200 },
  });
  const overdraft = await request('POST', '/acct-1/withdraw', { amount: 500 });
  if (balanceCheck) {
    assert.deepEqual(overdraft, { status: 500, body: { error: 'insufficient funds' } });
    assert.equal((await request('GET', '/acct-1/balance')).body.balance, 200);
  } else {
    assert.deepEqual(overdraft, { status: 200, body: { id: 'acct-1', balance: -300 } });
  }
}

test("the spans are the auto-instrumentations' own", async () => {
  await withService({ balanceCheck: true }, async (request, capture) => {
    await scenario(request, { balanceCheck: true });
    const spans = capture.spans();
    const scopes = new Set(spans.map((s) => s.instrumentationScope.name));
    for (const scope of [
      '@opentelemetry/instrumentation-http',
      '@opentelemetry/instrumentation-express',
      '@opentelemetry/instrumentation-pg',
      'bank-instrumentation',
    ]) {
      assert.ok(scopes.has(scope), `${scope} in ${[...scopes]}`);
    }
    const names = new Set(spans.map((s) => s.name));
    for (const name of [
      'POST /:account/withdraw',
      'GET /:account/balance',
      'request handler',
      'pg.query:BEGIN postgres',
      'pg.query:COMMIT postgres',
      'pg.query:ROLLBACK postgres',
    ]) {
      assert.ok(names.has(name), `${name} in ${[...names].join(', ')}`);
    }
    const server = spans.find((s) => s.name === 'POST /:account/withdraw' && s.attributes['http.response.status_code'] === 500);
    assert.equal(server.attributes['http.route'], '/:account/withdraw');
    const rollback = spans.find((s) => s.name === 'pg.query:ROLLBACK postgres');
    assert.equal(rollback.attributes['db.system.name'], 'postgresql');
    assert.equal(rollback.attributes['db.query.text'], 'ROLLBACK');
    assert.equal(rollback.spanContext().traceId, server.spanContext().traceId, 'one trace per request');
  });
});

test('correct bank over Express and Postgres: every rule holds and applies', async () => {
  await withService({ balanceCheck: true }, async (request, capture) => {
    await scenario(request, { balanceCheck: true });
    await assertHolds(MODELS, capture);
    const report = await check(MODELS, capture, { strict: true });
    assert.deepEqual(
      report.models().map((m) => [m.title, m.traces, m.holds(), m.vacuous()]),
      [
        [OVERDRAFT, 1, true, false],
        ['A covered withdrawal is committed and answered 200', 1, true, false],
        ['The balance is read before the transaction begins', 2, true, false],
        ['Every statement runs inside an Express route handler', 4, true, false],
      ],
    );
    assert.equal(report.holds(), true, 'strict: no warning either');
  });
});

test('buggy bank over Express and Postgres: the overdraft rule fails with this message', async () => {
  await withService({ balanceCheck: false }, async (request, capture) => {
    await scenario(request, { balanceCheck: false });
    await assertViolates(MODELS, capture);
    const report = await check(MODELS, capture);
    assert.deepEqual(
      report.models().filter((m) => !m.holds()).map((m) => m.title),
      [OVERDRAFT],
    );
    assert.deepEqual(report.model(OVERDRAFT).violations.map((v) => v.clause), [1, 2, 3, 4]);

    const failure = await assertHolds(MODELS, capture).then(
      () => assert.fail('the buggy bank must fail'),
      (e) => e,
    );
    assert.ok(failure instanceof assert.AssertionError);
    assert.equal(
      redact(failure.message),
      `tracecheck: 1 of 4 rules failed on the captured spans (${MODELS}; 27 spans in 3 traces)

FAIL "${OVERDRAFT}"  (applied to 1 trace; 4 violations in 1 trace)

      model "${OVERDRAFT}" {
          let w = span(name = "withdrawal")
          when span(name = "fetch-balance").tag("amount") < w.tag("amount")
  ✗ 1     expect span(db.system = "postgresql", db.statement = "ROLLBACK") child of w
  ✗ 2     expect no span(db.statement = "COMMIT") child of w
  ✗ 3     expect no span(db.statement =~ "^UPDATE accounts ") child of w
  ✗ 4     expect span(
              kind = server,
              name = "POST /:account/withdraw",
              http.status_code = 500,
              status = error,
          ) ancestor of w
      }

  trace <trace id>  (11 spans, <duration>)
    POST /:account/withdraw         bank <duration>  kind=server  http.status_code=200  status=unset
      middleware - jsonParser       bank <duration>  kind=internal  status=unset
      request handler               bank <duration>  kind=internal  status=unset
        fetch-balance               bank <duration>  amount=200  kind=internal  status=unset
          pg-pool.connect           bank <duration>  db.system="postgresql"  kind=client  status=unset
          pg.query:SELECT postgres  bank <duration>  db.system="postgresql"  db.statement="SELECT balance FROM accounts WHERE id = $1"  kind=client  status=unset
        withdrawal                  bank <duration>  amount=500  kind=internal  status=unset  ◀ w
          pg-pool.connect           bank <duration>  db.system="postgresql"  kind=client  status=unset
          pg.query:BEGIN postgres   bank <duration>  db.system="postgresql"  db.statement="BEGIN"  kind=client  status=unset
          pg.query:UPDATE postgres  bank <duration>  db.system="postgresql"  db.statement="UPDATE accounts SET balance = $1 WHERE id = $2"  kind=client  status=unset  ◀ witness of clause 3
          pg.query:COMMIT postgres  bank <duration>  db.system="postgresql"  db.statement="COMMIT"  kind=client  status=unset  ◀ witness of clause 2
    ✗ clause 1 fails for w = withdrawal: no span matched, expected at least 1
    ✗ clause 2 fails for w = withdrawal: 1 span matched (◀), expected none
    ✗ clause 3 fails for w = withdrawal: 1 span matched (◀), expected none
    ✗ clause 4 fails for w = withdrawal: no span matched, expected at least 1

ok      "A covered withdrawal is committed and answered 200" (applied to 1 trace)
ok      "The balance is read before the transaction begins" (applied to 2 traces)
ok      "Every statement runs inside an Express route handler" (applied to 3 traces)`,
    );
  });
});

test("the seed's bank.model on these spans: the names are the bank's, not the instrumentations'", async () => {
  await withService({ balanceCheck: true }, async (request, capture) => {
    await scenario(request, { balanceCheck: true });
    // The seed model applies (fetch-balance and withdrawal are the bank's own spans) but its
    // clauses name "rollback" and "/:account/withdraw", which pg and node:http call otherwise.
    const report = await check(BANK_MODEL, capture);
    const seed = report.model('Accounts cannot withdraw more than their balance');
    assert.equal(seed.traces, 1);
    assert.deepEqual(seed.violations.map((v) => v.clause), [1, 3]);
    assert.ok(seed.warnings.includes('span name "rollback" occurs nowhere in the data'), seed.warnings.join('\n'));
  });
});
