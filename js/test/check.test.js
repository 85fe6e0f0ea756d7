'use strict';
// check / assertHolds / assertViolates against the real binary (TRACECHECK_BIN, else PATH).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const api = require('@opentelemetry/api');
const {
  SpanCapture,
  check,
  assertHolds,
  assertViolates,
  modelText,
  findBinary,
  Report,
  TracecheckError,
  TracecheckAssertionError,
} = require('tracecheck');

const NO_COMMIT = modelText('model "no commit" {\n    expect no span(name = "commit")\n}\n', 'no-commit.model');
const TRANSFERS = modelText(
  'model "transfers are committed" {\n    when span(name = "transfer")\n    expect span(name = "commit")\n}\n',
  'transfers.model',
);

/** Rejects with a TracecheckAssertionError whose message matches `pattern`. */
async function rejectsWithMessage(promise, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof TracecheckAssertionError, `${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** withdrawal > commit (or nothing under withdrawal), in one trace. */
function withdrawal(capture, { commit }) {
  const tracer = capture.tracer('bank');
  const w = tracer.startSpan('withdrawal', { attributes: { amount: 500 } });
  if (commit) {
    tracer.startSpan('commit', { kind: api.SpanKind.CLIENT }, api.trace.setSpan(api.ROOT_CONTEXT, w)).end();
  }
  w.end();
}

/** Trace ids, span ids and durations change from run to run. */
function redact(text) {
  return text
    .replace(/[0-9a-f]{32}/g, '<trace id>')
    .replace(/\[[0-9a-f]{16}\]/g, '[<span id>]')
    .replace(/ *\d+\.\d{3}ms/g, ' <duration>');
}

test('check gives the JSON report of the binary', async () => {
  const capture = new SpanCapture({ serviceName: 'bank' });
  withdrawal(capture, { commit: true });
  const report = await check(NO_COMMIT, capture);
  assert.ok(report instanceof Report);
  assert.equal(report.holds(), false);
  assert.equal(report.exitCode, 1);
  assert.equal(report.violationCount(), 1);
  const model = report.model('no commit');
  assert.equal(model.holds(), false);
  assert.equal(model.vacuous(), false);
  assert.equal(model.traces, 1);
  assert.deepEqual(model.clauses, ['expect no span(name = "commit")']);
  const [v] = model.violations;
  assert.equal(v.clause, 1);
  assert.equal(v.matched, 1);
  const commit = capture.spans().find((s) => s.name === 'commit');
  assert.equal(v.trace_id, commit.spanContext().traceId);
  assert.deepEqual(v.witnesses, [commit.spanContext().spanId]);
  assert.match(report.files[0].path, /no-commit\.model$/);
});

test('assertHolds passes on good spans and fails with the message of tracecheck', async () => {
  const good = new SpanCapture({ serviceName: 'bank' });
  withdrawal(good, { commit: false });
  await assertHolds(NO_COMMIT, good);

  const bad = new SpanCapture({ serviceName: 'bank' });
  withdrawal(bad, { commit: true });
  const failure = await assertHolds(NO_COMMIT, bad).then(
    () => assert.fail('assertHolds should have failed'),
    (e) => e,
  );
  assert.ok(failure instanceof TracecheckAssertionError);
  assert.ok(failure instanceof assert.AssertionError, 'node:assert, Jest and Vitest treat it as a failed assertion');
  assert.equal(failure.code, 'ERR_ASSERTION');
  assert.equal(failure.operator, 'fail', "as assert.fail's: Jest prints the message without a comparison");
  assert.equal(failure.verdict, 'holds');
  assert.equal(failure.spanCount, 2);
  assert.equal(
    redact(failure.message),
    `tracecheck: 1 of 1 rule failed on the captured spans (no-commit.model; 2 spans in 1 trace)

FAIL "no commit"  (applied to 1 trace; 1 violation in 1 trace)

      model "no commit" {
  ✗ 1     expect no span(name = "commit")
      }

  trace <trace id>  (2 spans, <duration>)
    withdrawal  bank <duration>
      commit    bank <duration>  ◀ witness of clause 1
    ✗ clause 1 fails: 1 span matched (◀), expected none`,
  );
  // The stack points at the test, not at the child process machinery.
  assert.match(failure.stack.split('\n')[failure.message.split('\n').length], /check\.test\.js/);
});

test('assertViolates passes on faulty spans and fails when every rule holds', async () => {
  const bad = new SpanCapture({ serviceName: 'bank' });
  withdrawal(bad, { commit: true });
  await assertViolates(NO_COMMIT, bad);

  const good = new SpanCapture({ serviceName: 'bank' });
  withdrawal(good, { commit: false });
  await assert.rejects(assertViolates(NO_COMMIT, good), (e) => {
    assert.ok(e instanceof TracecheckAssertionError);
    assert.match(e.message, /^tracecheck: expected a violation, but the rule holds on the captured spans \(/);
    assert.match(e.message, /\nok {6}"no commit" \(applied to 1 trace\)\n/);
    return true;
  });
});

test('a vacuous model: check reports it, assertHolds fails, --strict fails the check', async () => {
  const capture = new SpanCapture({ serviceName: 'bank' });
  withdrawal(capture, { commit: false });

  const report = await check(TRANSFERS, capture);
  assert.equal(report.holds(), true, 'vacuous is not a violation');
  const model = report.model('transfers are committed');
  assert.equal(model.vacuous(), true);
  assert.equal(model.traces, 0);
  assert.ok(model.warnings.some((w) => w.startsWith('vacuous: ')), model.warnings.join('\n'));

  const strict = await check(TRANSFERS, capture, { strict: true });
  assert.equal(strict.strict, true);
  assert.equal(strict.holds(), false);

  await assert.rejects(assertHolds(TRANSFERS, capture), (e) => {
    assert.ok(e instanceof TracecheckAssertionError);
    assert.match(e.message, /^tracecheck: no model applied to the captured spans, so nothing was checked /);
    assert.match(e.message, /\nvacuous "transfers are committed": `when` never held in this data/);
    return true;
  });
  // A model that applies next to it: the assertion passes, and fails only with strict.
  await assertHolds([NO_COMMIT, TRANSFERS], capture);
  await rejectsWithMessage(assertHolds([NO_COMMIT, TRANSFERS], capture, { strict: true }), /^tracecheck: 2 of 2 rules raised a warning, a failure in strict mode \(/);
});

test('a model that does not parse fails with its position', async () => {
  const capture = new SpanCapture();
  withdrawal(capture, { commit: false });
  const broken = modelText('model "m" {\n    expect span(nme = "commit")\n}\n', 'broken.model');
  for (const run of [() => check(broken, capture), () => assertHolds(broken, capture)]) {
    await assert.rejects(run(), (e) => {
      assert.ok(e instanceof TracecheckError, `${e.name}: ${e.message}`);
      assert.ok(!(e instanceof assert.AssertionError));
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /error: unknown field `nme`/);
      assert.match(e.message, /broken\.model:2:17 \]/);
      return true;
    });
  }
});

test('model files on disk, several at once; the label names each path as given', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-models-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.model'), NO_COMMIT.text);
    fs.writeFileSync(path.join(dir, 'b.model'), 'model "withdrawals" { expect span(name = "withdrawal") }\n');
    const capture = new SpanCapture({ serviceName: 'bank' });
    withdrawal(capture, { commit: true });
    const report = await check(['a.model', 'b.model'], capture, { cwd: dir });
    assert.deepEqual(report.files.map((f) => f.path), ['a.model', 'b.model']);
    assert.deepEqual(report.models().map((m) => [m.title, m.holds()]), [
      ['no commit', false],
      ['withdrawals', true],
    ]);
    await assert.rejects(
      assertHolds(['a.model', new URL(`file://${path.join(dir, 'b.model')}`)], capture, { cwd: dir }),
      (e) => e.message.startsWith(`tracecheck: 1 of 2 rules failed on the captured spans (a.model, ${path.join(dir, 'b.model')}; 2 spans in 1 trace)`),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('model text: a string holding "{" or modelText(...); messages name it <text> unless named', async () => {
  const capture = new SpanCapture({ serviceName: 'bank' });
  withdrawal(capture, { commit: true });
  const text = 'model "no commit" { expect no span(name = "commit") }';
  await rejectsWithMessage(assertHolds(text, capture), /^tracecheck: 1 of 1 rule failed on the captured spans \(<text>; 2 spans in 1 trace\)\n/);
  await rejectsWithMessage(
    assertHolds([text, modelText('model "a withdrawal" { expect span(name = "withdrawal") }')], capture),
    /^tracecheck: 1 of 2 rules failed on the captured spans \(<text>, <text 2>; 2 spans in 1 trace\)\n/,
  );
  // Beside model text, model files are given by absolute path (the binary runs in a scratch folder).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-models-'));
  try {
    fs.writeFileSync(path.join(dir, 'w.model'), 'model "a withdrawal" { expect span(name = "withdrawal") }\n');
    const report = await check(['w.model', modelText(text, 'rule.model')], capture, { cwd: dir });
    assert.deepEqual(report.files.map((f) => f.path), [path.join(dir, 'w.model'), 'rule.model']);
    assert.deepEqual(report.models().map((m) => m.holds()), [true, false]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(check([modelText(text, 'a.model'), modelText(text, 'a.model')], capture), /two model texts are named "a.model"/);
});

test("spans from elsewhere: an in-memory exporter's finished spans", async () => {
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.getTracer('t').startSpan('commit').end();
  await assertViolates(NO_COMMIT, exporter.getFinishedSpans());
  const report = await check(NO_COMMIT, exporter.getFinishedSpans());
  assert.equal(report.violationCount(), 1);
});

test('no spans at all: nothing applied', async () => {
  await rejectsWithMessage(
    assertHolds(NO_COMMIT, new SpanCapture()),
    /^tracecheck: no model applied to the captured spans, so nothing was checked \(no-commit\.model; 0 spans in 0 traces\)\n/,
  );
});

test('the binary: TRACECHECK_BIN, else PATH, else a clear error', async () => {
  const real = findBinary();
  assert.equal(findBinary({ TRACECHECK_BIN: real }), real);
  assert.equal(findBinary({ PATH: ['/nonexistent', path.dirname(real)].join(path.delimiter) }), path.join(path.dirname(real), 'tracecheck'));
  assert.throws(() => findBinary({ PATH: '/nonexistent' }), (e) => {
    assert.ok(e instanceof TracecheckError);
    assert.match(e.message, /the tracecheck binary was not found \(TRACECHECK_BIN is not set and no tracecheck is on PATH\)/);
    assert.match(e.message, /cargo install --path \./);
    return true;
  });
  assert.throws(() => findBinary({ TRACECHECK_BIN: '/nonexistent/tracecheck' }), /TRACECHECK_BIN is set to "\/nonexistent\/tracecheck", which is not an executable file/);
  const capture = new SpanCapture();
  await assert.rejects(assertHolds(NO_COMMIT, capture, { env: { PATH: '' } }), TracecheckError);
  await assert.rejects(check(NO_COMMIT, capture, { bin: '/nonexistent/tracecheck' }), /\/nonexistent\/tracecheck does not exist/);
});

test('bad arguments are refused before anything runs', async () => {
  const capture = new SpanCapture();
  await assert.rejects(check([], capture), TypeError);
  await assert.rejects(check(42, capture), TypeError);
  await assert.rejects(check(NO_COMMIT, {}), TypeError);
  assert.throws(() => modelText('x', '../escape.model'), TypeError);
  assert.throws(() => modelText(42), TypeError);
});

test('the assertions resolve to the report', async () => {
  const good = new SpanCapture({ serviceName: 'bank' });
  withdrawal(good, { commit: false });
  const held = await assertHolds([NO_COMMIT, TRANSFERS], good);
  assert.ok(held instanceof Report);
  assert.equal(held.holds(), true);
  assert.equal(held.exitCode, 0);
  assert.deepEqual(held.models().map((m) => [m.title, m.vacuous()]), [
    ['no commit', false],
    ['transfers are committed', true],
  ]);

  const bad = new SpanCapture({ serviceName: 'bank' });
  withdrawal(bad, { commit: true });
  const violated = await assertViolates(NO_COMMIT, bad);
  assert.equal(violated.holds(), false);
  assert.equal(violated.exitCode, 1);
  assert.equal(violated.model('no commit').violations[0].matched, 1);
});

test('check blocks: their verdict is part of the report', async () => {
  const rule = modelText('check "commits are rare" {\n    count(span(name = "commit")) <= 0\n}\n', 'rare.model');
  const bad = new SpanCapture({ serviceName: 'bank' });
  withdrawal(bad, { commit: true });
  const failed = await check(rule, bad);
  assert.equal(failed.models().length, 0);
  assert.equal(failed.checks().length, 1);
  assert.equal(failed.checks()[0].title, 'commits are rare');
  assert.equal(failed.holds(), false);
  assert.equal(failed.exitCode, 1);
  await rejectsWithMessage(assertHolds(rule, bad), /^tracecheck: 1 of 1 rule failed on the captured spans \(/);

  const good = new SpanCapture({ serviceName: 'bank' });
  withdrawal(good, { commit: false });
  const held = await assertHolds(rule, good);
  assert.equal(held.holds(), true);
});
