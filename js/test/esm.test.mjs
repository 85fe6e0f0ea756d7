// The ES module entry point: the same objects as the CommonJS one, and it works end to end.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import tracecheck, { SpanCapture, assertHolds, assertViolates, check, modelText, TracecheckAssertionError } from 'tracecheck';

const require = createRequire(import.meta.url);

test('import and require give the same objects', () => {
  const cjs = require('tracecheck');
  assert.equal(tracecheck, cjs);
  assert.equal(SpanCapture, cjs.SpanCapture);
  assert.equal(TracecheckAssertionError, cjs.TracecheckAssertionError);
  assert.equal(cjs.default, cjs, 'the default export under CommonJS interop');
});

test('an ES module test checks its spans', async () => {
  const capture = new SpanCapture({ serviceName: 'esm' });
  capture.tracer('esm').startSpan('withdrawal').end();
  const rule = modelText('model "a withdrawal" { expect 1 span(name = "withdrawal", service = "esm") }\n');
  await assertHolds(rule, capture);
  const report = await check(rule, capture);
  assert.equal(report.model('a withdrawal').traces, 1);
  await assert.rejects(assertViolates(rule, capture), TracecheckAssertionError);
});
