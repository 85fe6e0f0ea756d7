'use strict';
// The cost of one unit test with traces: a capture, the bank's covered withdrawal and overdraft
// (13 spans in 2 traces; all seven models apply), and assertHolds of queries/bank.model, which
// encodes the spans as OTLP and runs the tracecheck binary on them. Median over the runs.
//
//   TRACECHECK_BIN=../../target/debug/tracecheck node bench/cost-per-test.js [RUNS] [PAIRS]
//
// RUNS (default 20) after one warm-up; PAIRS (default 1) pairs of withdrawals per test.
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { ROOT_CONTEXT } = require('@opentelemetry/api');
const { SpanCapture, assertHolds, findBinary } = require('tracecheck');
const { Bank } = require('../src/bank');
const { MockDatabase } = require('../src/mock-store');

const BANK_MODEL = path.relative(process.cwd(), path.join(__dirname, '..', '..', '..', 'queries', 'bank.model'));
const runs = Number(process.argv[2] || 20);
const pairs = Number(process.argv[3] || 1);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function once() {
  const t0 = performance.now();
  const capture = new SpanCapture({ serviceName: 'bank' });
  const bank = new Bank(new MockDatabase(), capture.tracer('bank-instrumentation', '0.1.0'));
  await bank.createAccount('acct-1', 100 * pairs + 200);
  for (let i = 0; i < pairs; i++) {
    await bank.withdrawEndpoint(ROOT_CONTEXT, 'acct-1', 100); // covered
    await bank.withdrawEndpoint(ROOT_CONTEXT, 'acct-1', 100 * pairs + 500); // an overdraft, refused
  }
  const t1 = performance.now();
  capture.toOtlpProtobuf();
  const t2 = performance.now();
  await assertHolds(BANK_MODEL, capture);
  const t3 = performance.now();
  return { capture: t1 - t0, encode: t2 - t1, check: t3 - t2, total: t3 - t0, spans: capture.length };
}

(async () => {
  await once(); // warm-up: module loading, the binary's first start
  const results = [];
  for (let i = 0; i < runs; i++) {
    results.push(await once());
  }
  const col = (k) => results.map((r) => r[k]);
  const fmt = (ms) => `${ms.toFixed(ms < 1 ? 3 : 1)} ms`;
  console.log(`tracecheck binary: ${findBinary()}`);
  console.log(`${runs} runs, ${results[0].spans} spans in ${2 * pairs} traces each; median (min-max):`);
  for (const k of ['capture', 'encode', 'check', 'total']) {
    console.log(`  ${k.padEnd(8)} ${fmt(median(col(k)))}  (${fmt(Math.min(...col(k)))}-${fmt(Math.max(...col(k)))})`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
