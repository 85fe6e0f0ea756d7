'use strict';
// The seed's unit test for the Node bank (the twin of tests/it/seed_unit.rs): the bank's withdraw
// logic over a mock database holding 300, and queries/bank.model, the file the Rust tests use,
// checked on the spans captured in process by the tracecheck package.
const test = require('node:test');
const assert = require('node:assert/strict');
const { assertHolds, assertViolates, check, TracecheckAssertionError, TracecheckError } = require('tracecheck');
const { BANK_MODEL, SEED_MODEL, bank, fixture, redact, withdraw } = require('./helpers');

/** Rejects with tracecheck's assertion failure; resolves to its message. */
async function failureMessage(promise) {
  const error = await promise.then(
    () => assert.fail('the assertion should have failed'),
    (e) => e,
  );
  assert.ok(error instanceof TracecheckAssertionError, `${error.name}: ${error.message}`);
  assert.ok(error instanceof assert.AssertionError);
  return error.message;
}

const failing = (report) => report.models().filter((m) => !m.holds()).map((m) => m.title);
const vacuous = (report) => report.models().filter((m) => m.vacuous()).map((m) => m.title);

test('correct bank: the overdraft is refused and every bank model holds', async () => {
  const { bank: b, capture } = await bank();
  const reply = await withdraw(b, 500);
  assert.deepEqual([reply.status, reply.message], [500, 'insufficient funds']);
  assert.equal((await b.balance('acct-1')).body.balance, 300);

  const report = await assertHolds(BANK_MODEL, capture);
  assert.equal(report.model(SEED_MODEL).traces, 1, 'the seed model applied');
  // As in Rust: the models about commits, covered withdrawals and balance updates have nothing to
  // look at in a refused overdraft.
  assert.deepEqual(vacuous(report), [
    'Commits never fail',
    'A withdrawal the balance covers is answered 200',
    'The balance is read before it is written',
  ]);
});

test('buggy bank: the overdraft is committed and the seed model fails with this message', async () => {
  const { bank: b, capture } = await bank({ balanceCheck: false });
  const reply = await withdraw(b, 500);
  assert.equal(reply.status, 200, "the seed's bug: the overdraft is committed");
  assert.equal((await b.balance('acct-1')).body.balance, -200);

  const report = await assertViolates(BANK_MODEL, capture);
  assert.deepEqual(failing(report), [SEED_MODEL]);
  assert.deepEqual(
    report.model(SEED_MODEL).violations.map((v) => v.clause),
    [1, 2, 3],
    'no rollback, a commit, and 200 instead of 500',
  );
  const message = await failureMessage(assertHolds(BANK_MODEL, capture));
  assert.equal(
    redact(message),
    `tracecheck: 1 of 7 rules failed on the captured spans (${BANK_MODEL}; 7 spans in 1 trace)

FAIL "Accounts cannot withdraw more than their balance"  (applied to 1 trace; 3 violations in 1 trace)

      model "Accounts cannot withdraw more than their balance" {
          when span(name = "fetch-balance").tag("amount") < span(name = "withdrawal").tag("amount")
  ✗ 1     expect span(name = "rollback")
  ✗ 2     expect no span(name = "commit")
  ✗ 3     expect span(name = "/:account/withdraw", http.status_code = 500)
      }

  trace <trace id>  (7 spans, <duration>)
    /:account/withdraw  bank <duration>  http.status_code=200
      fetch-balance     bank <duration>  amount=300
        select-balance  bank <duration>
      withdrawal        bank <duration>  amount=500
        begin           bank <duration>
        update-balance  bank <duration>
        commit          bank <duration>  ◀ witness of clause 2
    ✗ clause 1 fails: no span matched, expected at least 1
    ✗ clause 2 fails: 1 span matched (◀), expected none
    ✗ clause 3 fails: no span matched, expected at least 1

  warning: span name "rollback" occurs nowhere in the data

ok      "Commit only after a successful balance check" (applied to 1 trace)
ok      "Every withdrawal ends its transaction exactly once" (applied to 1 trace)
ok      "Withdrawals take less than 250 ms" (applied to 1 trace)
ok      "Commits never fail" (applied to 1 trace)
        warning: span name "rollback" occurs nowhere in the data
vacuous "A withdrawal the balance covers is answered 200": \`when\` never held in this data, so the model proved nothing
ok      "The balance is read before it is written" (applied to 1 trace)`,
  );
});

test('a covered withdrawal and an overdraft: all seven models apply', async () => {
  for (const balanceCheck of [true, false]) {
    const { bank: b, capture } = await bank({ balanceCheck });
    assert.equal((await withdraw(b, 100)).status, 200);
    assert.equal((await withdraw(b, 500)).status, balanceCheck ? 500 : 200);
    const report = await check(BANK_MODEL, capture);
    assert.equal(report.models().length, 7);
    assert.deepEqual(vacuous(report), [], 'every model applied');
    if (balanceCheck) {
      assert.deepEqual(failing(report), []);
      await assertHolds(BANK_MODEL, capture);
    } else {
      assert.deepEqual(failing(report), [SEED_MODEL]);
      await assertViolates(BANK_MODEL, capture);
    }
  }
});

test('a commit that fails ("database is locked") breaks the commit and status rules', async () => {
  const { bank: b, capture } = await bank({ db: { failCommit: 'database is locked' } });
  const reply = await withdraw(b, 100);
  assert.deepEqual([reply.status, reply.message], [500, 'database is locked']);
  assert.equal((await b.balance('acct-1')).body.balance, 300, 'rolled back');

  const report = await check(BANK_MODEL, capture);
  assert.deepEqual(failing(report), [
    // commit, then rollback: two transaction ends
    'Every withdrawal ends its transaction exactly once',
    'Commits never fail',
    'A withdrawal the balance covers is answered 200',
  ]);
  const commitRule = report.model('Commits never fail');
  assert.deepEqual(commitRule.violations.map((v) => v.clause), [3]);
  const commit = capture.spans().find((s) => s.name === 'commit');
  assert.deepEqual(commitRule.violations[0].witnesses, [commit.spanContext().spanId]);
  assert.equal(commit.status.message, 'database is locked');

  const message = await failureMessage(assertHolds(BANK_MODEL, capture));
  assert.match(message, /^tracecheck: 3 of 7 rules failed on the captured spans \(/);
  assert.ok(
    redact(message).includes('        commit          bank <duration>  status=error  ◀ c, witness of clause 3\n'),
    redact(message),
  );
});

test('a slow database: the withdrawal takes 250 ms or more', async () => {
  const { bank: b, capture } = await bank({ db: { latencyMs: 90 } });
  assert.equal((await withdraw(b, 100)).status, 200);
  const report = await check(BANK_MODEL, capture);
  assert.deepEqual(failing(report), ['Withdrawals take less than 250 ms']);
  const w = capture.spans().find((s) => s.name === 'withdrawal');
  assert.deepEqual(report.model('Withdrawals take less than 250 ms').violations[0].witnesses, [w.spanContext().spanId]);
});

test('a model that does not parse fails the test with its position', async () => {
  const { bank: b, capture } = await bank();
  await withdraw(b, 500);
  const broken = fixture('broken.model');
  for (const run of [() => assertHolds(broken, capture), () => check(broken, capture)]) {
    const error = await run().then(
      () => assert.fail('a model that does not parse must fail'),
      (e) => e,
    );
    assert.ok(error instanceof TracecheckError, `${error.name}: ${error.message}`);
    assert.equal(error.exitCode, 2);
    assert.equal(
      error.message.split('\n').slice(0, 5).join('\n'),
      `tracecheck: the captured spans could not be checked
error: unknown field \`nmae\`
   ╭─[ ${broken}:5:20 ]
   │
 5 │     expect no span(nmae = "commit")`,
    );
    assert.match(error.message, /did you mean `name`\?/);
  }
});

test('a vacuous model is reported as such', async () => {
  const { bank: b, capture } = await bank();
  await withdraw(b, 100);
  const transfers = fixture('transfers.model');

  const report = await check(transfers, capture);
  const model = report.model('Transfers are committed');
  assert.equal(model.vacuous(), true);
  assert.equal(report.holds(), true, 'without --strict, vacuous is not a failure');
  assert.equal((await check(transfers, capture, { strict: true })).holds(), false);

  const message = await failureMessage(assertHolds(transfers, capture));
  assert.equal(
    redact(message),
    `tracecheck: no model applied to the captured spans, so nothing was checked (${transfers}; 7 spans in 1 trace)

vacuous "Transfers are committed": \`when\` never held in this data, so the model proved nothing
        warning: span name "transfer" occurs nowhere in the data

captured:
  trace <trace id>  (7 spans, <duration>)
    /:account/withdraw  bank <duration>
      fetch-balance     bank <duration>
        select-balance  bank <duration>
      withdrawal        bank <duration>
        begin           bank <duration>
        update-balance  bank <duration>
        commit          bank <duration>`,
  );
  // Next to models that apply, a vacuous one passes, unless strict.
  await assertHolds([BANK_MODEL, transfers], capture);
  const strict = await failureMessage(assertHolds([BANK_MODEL, transfers], capture, { strict: true }));
  assert.match(strict, /^tracecheck: \d+ of 8 rules raised a warning, a failure in strict mode \(/);
  assert.match(strict, /\nvacuous "Transfers are committed": `when` never held in this data/);
});

test('tests run in parallel keep their spans apart', async () => {
  const runs = await Promise.all(
    [true, false, true, false].map(async (balanceCheck) => {
      const { bank: b, capture } = await bank({ balanceCheck });
      await withdraw(b, 500);
      return { balanceCheck, report: await check(BANK_MODEL, capture) };
    }),
  );
  for (const { balanceCheck, report } of runs) {
    assert.equal(report.model(SEED_MODEL).traces, 1);
    assert.deepEqual(failing(report), balanceCheck ? [] : [SEED_MODEL]);
  }
});
