// The bank's seed test under Jest (CommonJS): a failing assertion is a test failure that shows
// tracecheck's message.
const path = require('node:path');
const { ROOT_CONTEXT } = require('@opentelemetry/api');
const { SpanCapture, assertHolds, assertViolates, TracecheckAssertionError } = require('tracecheck');
const { Bank } = require('../src/bank');
const { MockDatabase } = require('../src/mock-store');

const BANK_MODEL = path.relative(process.cwd(), path.join(__dirname, '..', '..', '..', 'queries', 'bank.model'));
const SEED_MODEL = 'Accounts cannot withdraw more than their balance';

async function overdraft(balanceCheck) {
  const capture = new SpanCapture({ serviceName: 'bank' });
  const bank = new Bank(new MockDatabase(), capture.tracer('bank-instrumentation', '0.1.0'), { balanceCheck });
  await bank.createAccount('acct-1', 300);
  const reply = await bank.withdrawEndpoint(ROOT_CONTEXT, 'acct-1', 500);
  return { capture, reply };
}

describe('the bank under Jest', () => {
  test('correct bank: the models hold', async () => {
    const { capture, reply } = await overdraft(true);
    expect(reply.status).toBe(500);
    const report = await assertHolds(BANK_MODEL, capture);
    expect(report.model(SEED_MODEL).traces).toBe(1);
  });

  test("buggy bank: assertHolds rejects with tracecheck's message", async () => {
    const { capture, reply } = await overdraft(false);
    expect(reply.status).toBe(200);
    const report = await assertViolates(BANK_MODEL, capture);
    expect(report.models().filter((m) => !m.holds()).map((m) => m.title)).toEqual([SEED_MODEL]);
    const failure = assertHolds(BANK_MODEL, capture);
    await expect(failure).rejects.toBeInstanceOf(TracecheckAssertionError);
    await expect(failure).rejects.toThrow(
      `tracecheck: 1 of 7 rules failed on the captured spans (${BANK_MODEL}; 7 spans in 1 trace)\n\nFAIL "${SEED_MODEL}"`,
    );
    await expect(failure).rejects.toThrow(/\n {4}✗ clause 2 fails: 1 span matched \(◀\), expected none\n/);
  });
});
