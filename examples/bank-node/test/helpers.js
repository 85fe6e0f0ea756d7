'use strict';
// What the bank's tests share: the model file of the Rust tests, a bank over a mock database that
// traces into a capture of its own, and redaction of what changes from run to run.
const path = require('node:path');
const { ROOT_CONTEXT } = require('@opentelemetry/api');
const { SpanCapture } = require('tracecheck');
const { Bank } = require('../src/bank');
const { MockDatabase } = require('../src/mock-store');

/** queries/bank.model, the file the Rust tests use, as a path from the current directory. */
const BANK_MODEL = path.relative(process.cwd(), path.join(__dirname, '..', '..', '..', 'queries', 'bank.model'));

/** A fixture of this folder, as a path from the current directory (so messages name it that way). */
function fixture(name) {
  return path.relative(process.cwd(), path.join(__dirname, 'fixtures', name));
}

const SEED_MODEL = 'Accounts cannot withdraw more than their balance';

/** A bank over a mock database where acct-1 holds 300, tracing into a capture of its own. */
async function bank({ balanceCheck = true, db = {} } = {}) {
  const capture = new SpanCapture({ serviceName: 'bank' });
  const b = new Bank(new MockDatabase(db), capture.tracer('bank-instrumentation', '0.1.0'), { balanceCheck });
  const created = await b.createAccount('acct-1', 300);
  if (created.status !== 201) {
    throw new Error(`creating acct-1: ${JSON.stringify(created)}`);
  }
  return { bank: b, capture };
}

/** A withdrawal of `amount` from acct-1, in a new trace. */
function withdraw(b, amount) {
  return b.withdrawEndpoint(ROOT_CONTEXT, 'acct-1', amount);
}

/** Trace ids and durations change from run to run (as in tests/it/seed_unit.rs). */
function redact(message) {
  return message.replace(/[0-9a-f]{32}/g, '<trace id>').replace(/ *\d+\.\d{3}ms/g, ' <duration>');
}

module.exports = { BANK_MODEL, SEED_MODEL, bank, fixture, redact, withdraw };
