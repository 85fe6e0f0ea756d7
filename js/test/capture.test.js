'use strict';
// The capture alone: what it records and how it encodes it (no binary needed).
const test = require('node:test');
const assert = require('node:assert/strict');
const api = require('@opentelemetry/api');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { AlwaysOffSampler } = require('@opentelemetry/sdk-trace-base');
const { SpanCapture } = require('tracecheck');

test('a capture records the spans of its own provider, with its service name', () => {
  const capture = new SpanCapture({ serviceName: 'bank' });
  const tracer = capture.tracer('bank-instrumentation', '0.1.0');
  const root = tracer.startSpan('withdrawal');
  const child = tracer.startSpan('commit', { kind: api.SpanKind.CLIENT }, api.trace.setSpan(api.ROOT_CONTEXT, root));
  assert.equal(capture.length, 0, 'nothing ended yet');
  child.end();
  root.end();
  assert.equal(capture.length, 2);
  const [commit, withdrawal] = capture.spans();
  assert.equal(commit.name, 'commit');
  assert.equal(commit.parentSpanContext.spanId, withdrawal.spanContext().spanId);
  assert.equal(commit.resource.attributes['service.name'], 'bank');
  assert.equal(commit.resource.attributes['telemetry.sdk.language'], 'nodejs');
  assert.equal(commit.instrumentationScope.name, 'bank-instrumentation');
  capture.clear();
  assert.equal(capture.length, 0);
});

test('captures are independent of each other and of the global provider', () => {
  const a = new SpanCapture();
  const b = new SpanCapture();
  a.tracer().startSpan('in-a').end();
  b.tracer().startSpan('in-b').end();
  api.trace.getTracer('global').startSpan('global').end();
  assert.deepEqual(a.spans().map((s) => s.name), ['in-a']);
  assert.deepEqual(b.spans().map((s) => s.name), ['in-b']);
  assert.match(a.spans()[0].resource.attributes['service.name'], /^unknown_service:/);
});

test('resource attributes and a resource object are merged, the service name last', () => {
  const byAttributes = new SpanCapture({ resource: { 'host.name': 'bank-0', 'service.name': 'x' }, serviceName: 'bank' });
  byAttributes.tracer().startSpan('s').end();
  const attrs = byAttributes.spans()[0].resource.attributes;
  assert.equal(attrs['host.name'], 'bank-0');
  assert.equal(attrs['service.name'], 'bank');

  const byResource = new SpanCapture({ resource: resourceFromAttributes({ 'service.version': '1.2.3' }) });
  byResource.tracer().startSpan('s').end();
  assert.equal(byResource.spans()[0].resource.attributes['service.version'], '1.2.3');
});

test('every span is recorded by default, whatever OTEL_TRACES_SAMPLER says; a sampler can be given', () => {
  const saved = process.env.OTEL_TRACES_SAMPLER;
  process.env.OTEL_TRACES_SAMPLER = 'always_off';
  try {
    const capture = new SpanCapture();
    capture.tracer().startSpan('kept').end();
    assert.equal(capture.length, 1);
  } finally {
    if (saved === undefined) delete process.env.OTEL_TRACES_SAMPLER;
    else process.env.OTEL_TRACES_SAMPLER = saved;
  }
  const off = new SpanCapture({ sampler: new AlwaysOffSampler() });
  off.tracer().startSpan('dropped').end();
  assert.equal(off.length, 0);
});

test('the spans encode as one OTLP export request, protobuf or JSON', () => {
  const capture = new SpanCapture({ serviceName: 'bank' });
  const span = capture.tracer('scope').startSpan('withdrawal', { attributes: { amount: 500 } });
  span.end();
  const json = JSON.parse(capture.toOtlpJson());
  const otlpSpan = json.resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(otlpSpan.name, 'withdrawal');
  assert.equal(otlpSpan.traceId, span.spanContext().traceId);
  assert.deepEqual(otlpSpan.attributes, [{ key: 'amount', value: { intValue: 500 } }]);
  const bytes = capture.toOtlpProtobuf();
  assert.ok(bytes instanceof Uint8Array);
  // field 1 (resource_spans), length-delimited
  assert.equal(bytes[0], 0x0a);
  assert.ok(Buffer.from(bytes).includes(Buffer.from('withdrawal')));
});

test('bad options are refused', () => {
  assert.throws(() => new SpanCapture({ serviceName: '' }), TypeError);
  assert.throws(() => new SpanCapture(null), TypeError);
});

/** ms since the epoch, as a float, of an OTel HrTime. */
const ms = (t) => t[0] * 1e3 + t[1] / 1e6;

test('the precise clock orders spans that follow each other within a millisecond; the SDK clock does not', () => {
  const inverted = (capture) => {
    const tracer = capture.tracer();
    for (let i = 0; i < 200; i++) {
      tracer.startSpan('first').end();
      tracer.startSpan('second').end();
    }
    const spans = capture.spans();
    let count = 0;
    for (let i = 0; i < spans.length; i += 2) {
      assert.equal(spans[i].name, 'first');
      if (ms(spans[i + 1].startTime) < ms(spans[i].endTime)) count++;
      assert.ok(ms(spans[i].endTime) >= ms(spans[i].startTime));
    }
    return count;
  };
  assert.equal(inverted(new SpanCapture()), 0, 'second starts after first ends');
  // The SDK starts spans at Date.now() (whole milliseconds) and ends them at that plus the precise
  // duration: most pairs that fall in the same millisecond come out overlapping.
  assert.ok(inverted(new SpanCapture({ clock: 'sdk' })) > 0);
});

test('times given explicitly are kept; durations are the precise ones', async () => {
  const capture = new SpanCapture();
  const tracer = capture.tracer();
  const start = Date.now() - 60_000;
  tracer.startSpan('backdated', { startTime: start }).end(start + 1500);
  const slow = tracer.startSpan('slow');
  await new Promise((resolve) => setTimeout(resolve, 20));
  slow.end();
  const [backdated, timed] = capture.spans();
  assert.equal(ms(backdated.startTime), start);
  assert.equal(ms(backdated.endTime), start + 1500);
  const took = ms(timed.endTime) - ms(timed.startTime);
  assert.ok(took >= 19 && took < 1000, `${took} ms`);
  assert.ok(Math.abs(ms(timed.endTime) - Date.now()) < 50);
  assert.ok(Math.abs(ms(timed.duration) - took) < 0.01, 'duration = end - start');
  assert.equal(timed.name, 'slow');
  assert.equal(timed.spanContext().spanId.length, 16);
});
