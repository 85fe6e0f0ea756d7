// The bank's seed test under Vitest, through the ES module entry point of the tracecheck package:
// a failing assertion is a test failure that shows tracecheck's message.
import { describe, expect, it } from 'vitest';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { SpanCapture, assertHolds, assertViolates, check, TracecheckAssertionError } from 'tracecheck';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { Bank } = require('../src/bank.js');
const { MockDatabase } = require('../src/mock-store.js');

const here = path.dirname(fileURLToPath(import.meta.url));
const BANK_MODEL = path.relative(process.cwd(), path.join(here, '..', '..', '..', 'queries', 'bank.model'));
const SEED_MODEL = 'Accounts cannot withdraw more than their balance';

async function overdraft(balanceCheck) {
  const capture = new SpanCapture({ serviceName: 'bank' });
  const bank = new Bank(new MockDatabase(), capture.tracer('bank-instrumentation', '0.1.0'), { balanceCheck });
  await bank.createAccount('acct-1', 300);
  const reply = await bank.withdrawEndpoint(ROOT_CONTEXT, 'acct-1', 500);
  return { capture, reply };
}

describe('the bank under Vitest', () => {
  it('correct bank: the models hold', async () => {
    const { capture, reply } = await overdraft(true);
    expect(reply.status).toBe(500);
    await assertHolds(BANK_MODEL, capture);
    const report = await check(BANK_MODEL, capture);
    expect(report.model(SEED_MODEL).traces).toBe(1);
  });

  it("buggy bank: assertHolds rejects with tracecheck's message", async () => {
    const { capture, reply } = await overdraft(false);
    expect(reply.status).toBe(200);
    await assertViolates(BANK_MODEL, capture);
    const failure = assertHolds(BANK_MODEL, capture);
    await expect(failure).rejects.toBeInstanceOf(TracecheckAssertionError);
    await expect(failure).rejects.toThrow(
      `tracecheck: 1 of 7 rules failed on the captured spans (${BANK_MODEL}; 7 spans in 1 trace)\n\nFAIL "${SEED_MODEL}"`,
    );
    await expect(failure).rejects.toThrow(/\n {4}✗ clause 2 fails: 1 span matched \(◀\), expected none\n/);
  });
});
