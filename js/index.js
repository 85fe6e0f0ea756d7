'use strict';
// tracecheck for Node: capture the spans that the code under test makes with the OpenTelemetry SDK,
// hand them to the tracecheck binary as one OTLP export request on its standard input, and turn its
// verdict into a report or a failed assertion. The checking itself is the binary's: the message an
// assertion fails with is the text it prints, the same as Rust's `assert_holds!`.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AssertionError } = require('node:assert');
const { performance } = require('node:perf_hooks');

const {
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} = require('@opentelemetry/sdk-trace-base');
const { defaultResource, resourceFromAttributes } = require('@opentelemetry/resources');
const { ProtobufTraceSerializer, JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');

/** The environment variable naming the tracecheck binary. */
const BIN_ENV = 'TRACECHECK_BIN';

const INSTALL_HINT =
  'install it with `cargo install --path .` in a clone of the tracecheck repository (it lands in ' +
  '~/.cargo/bin), then put it on PATH or set TRACECHECK_BIN to its path';

// ---------------------------------------------------------------------------------------------------
// The capture

/**
 * How far (ms) the SDK's time of a span may be from the capture's clock and still be taken as
 * "now": the SDK's own start times are Date.now() (less than 1 ms behind), instrumentations' are
 * performance-based; a time further away was given explicitly, and is kept.
 */
const NOW_TOLERANCE_MS = 10;

function hrTimeToMillis(t) {
  return t[0] * 1e3 + t[1] / 1e6;
}

function millisToHrTime(ms) {
  let seconds = Math.floor(ms / 1e3);
  let nanos = Math.round((ms - seconds * 1e3) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  return [seconds, nanos];
}

/**
 * Stamps each span's start and end on one high-resolution clock, anchored to the wall clock when
 * the capture was made. The Node SDK starts every span at Date.now(), a whole millisecond, and ends
 * it that plus a precise duration: a span that starts less than a millisecond after its sibling
 * ended can then start "before" that sibling ends, and rules with `before` / `after` would pass or
 * fail by chance.
 */
class ClockProcessor {
  constructor() {
    this._anchorWall = Date.now();
    this._anchorPerf = performance.now();
    /** span -> { start?: ms, end?: ms } */
    this.times = new WeakMap();
  }

  now() {
    return this._anchorWall + (performance.now() - this._anchorPerf);
  }

  onStart(span) {
    const start = this.now();
    const record = {};
    if (Math.abs(hrTimeToMillis(span.startTime) - start) <= NOW_TOLERANCE_MS) {
      record.start = start;
    }
    this.times.set(span, record);
  }

  onEnd(span) {
    const end = this.now();
    const record = this.times.get(span);
    if (record && span.endTime && Math.abs(hrTimeToMillis(span.endTime) - end) <= NOW_TOLERANCE_MS) {
      record.end = end;
    }
  }

  /**
   * `span` (ended) with the clock's times: a ReadableSpan of its own, made once per span (one object
   * shape for all, which the OTLP encoder walks quickly).
   */
  view(span) {
    const record = this.times.get(span);
    if (!record) {
      return span;
    }
    if (record.view) {
      return record.view;
    }
    const sdkStart = hrTimeToMillis(span.startTime);
    const shift = record.start === undefined ? 0 : record.start - sdkStart;
    const startMs = sdkStart + shift;
    // The end never comes before the start, whichever clock each came from.
    const endMs = Math.max(startMs, record.end !== undefined ? record.end : hrTimeToMillis(span.endTime) + shift);
    const context = span.spanContext();
    record.view = {
      name: span.name,
      kind: span.kind,
      spanContext: () => context,
      parentSpanContext: span.parentSpanContext,
      startTime: millisToHrTime(startMs),
      endTime: millisToHrTime(endMs),
      duration: millisToHrTime(endMs - startMs),
      status: span.status,
      attributes: span.attributes,
      links: span.links,
      events:
        shift === 0
          ? span.events
          : span.events.map((e) => ({ ...e, time: millisToHrTime(hrTimeToMillis(e.time) + shift) })),
      ended: span.ended,
      resource: span.resource,
      instrumentationScope: span.instrumentationScope,
      droppedAttributesCount: span.droppedAttributesCount,
      droppedEventsCount: span.droppedEventsCount,
      droppedLinksCount: span.droppedLinksCount,
    };
    return record.view;
  }

  forceFlush() {
    return Promise.resolve();
  }

  shutdown() {
    return Promise.resolve();
  }
}

/**
 * The spans of one test: its own tracer provider (never the global one) with a simple span processor
 * over an in-memory exporter, so every span is in the capture the moment it ends.
 */
class SpanCapture {
  /**
   * @param {object} [options]
   * @param {string} [options.serviceName] `service.name` of the resource.
   * @param {object} [options.resource] a Resource, or an object of resource attributes; merged over
   *   the SDK's default resource (which names the SDK), `serviceName` over both.
   * @param {object} [options.sampler] a Sampler; default: every span is recorded, whatever the
   *   OTEL_TRACES_SAMPLER environment variable says.
   * @param {object} [options.spanLimits] span limits, as BasicTracerProvider takes them.
   * @param {'precise'|'sdk'} [options.clock] "precise" (default): start and end times on one
   *   high-resolution clock (see ClockProcessor); "sdk": the SDK's times as they are.
   */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('SpanCapture options must be an object');
    }
    let resource = defaultResource();
    if (options.resource !== undefined) {
      const given = options.resource;
      const isResource = given && typeof given.merge === 'function' && 'attributes' in given;
      resource = resource.merge(isResource ? given : resourceFromAttributes(given));
    }
    if (options.serviceName !== undefined) {
      if (typeof options.serviceName !== 'string' || options.serviceName === '') {
        throw new TypeError('serviceName must be a non-empty string');
      }
      resource = resource.merge(resourceFromAttributes({ 'service.name': options.serviceName }));
    }
    const clock = options.clock === undefined ? 'precise' : options.clock;
    if (clock !== 'precise' && clock !== 'sdk') {
      throw new TypeError('clock is "precise" or "sdk"');
    }
    this._clock = clock === 'precise' ? new ClockProcessor() : null;
    this._exporter = new InMemorySpanExporter();
    const processors = [new SimpleSpanProcessor(this._exporter)];
    if (this._clock) {
      processors.unshift(this._clock);
    }
    this._provider = new BasicTracerProvider({
      resource,
      sampler: options.sampler || new AlwaysOnSampler(),
      spanLimits: options.spanLimits,
      spanProcessors: processors,
    });
  }

  /** The tracer provider: hand it to the code under test, or to `registerInstrumentations`. */
  get tracerProvider() {
    return this._provider;
  }

  /** A tracer of this capture's provider (instrumentation scope `name`, default "tracecheck"). */
  tracer(name = 'tracecheck', version, options) {
    return this._provider.getTracer(name, version, options);
  }

  /** The spans that ended so far (ReadableSpan objects), in the order they ended. */
  spans() {
    const spans = this._exporter.getFinishedSpans();
    return this._clock ? spans.map((s) => this._clock.view(s)) : spans.slice();
  }

  /** How many spans ended so far. */
  get length() {
    return this._exporter.getFinishedSpans().length;
  }

  /** Forgets the spans captured so far. */
  clear() {
    this._exporter.reset();
  }

  /** The captured spans as one OTLP ExportTraceServiceRequest, protobuf-encoded. */
  toOtlpProtobuf() {
    return encode(ProtobufTraceSerializer, this.spans());
  }

  /** The captured spans as one OTLP ExportTraceServiceRequest in OTLP/JSON (a string). */
  toOtlpJson() {
    return Buffer.from(encode(JsonTraceSerializer, this.spans())).toString('utf8');
  }

  /** Waits until every span that ended is exported (with the simple processor, it already is). */
  async flush() {
    await this._provider.forceFlush();
  }

  /** Shuts the provider down; spans that end afterwards are not captured. */
  async shutdown() {
    await this._provider.shutdown();
  }
}

function encode(serializer, spans) {
  const bytes = serializer.serializeRequest(spans);
  if (bytes === undefined) {
    throw new TracecheckError('tracecheck: the OpenTelemetry OTLP encoder could not encode the captured spans');
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------------
// Models

/** The name of model text in messages, as the Rust and Python helpers call it. */
const TEXT_NAME = process.platform === 'win32' ? 'text.model' : '<text>';

/**
 * Models given as text rather than a file. For the check it is written to a scratch folder, where
 * the binary then runs, so messages name it `name` (default "<text>", as the Rust and Python
 * helpers do). A string holding "{" passed as models is taken as text too.
 * @param {string} text the models, in the model language.
 * @param {string} [name] a plain file name, such as "rules.model".
 */
function modelText(text, name) {
  if (typeof text !== 'string') {
    throw new TypeError('modelText takes the models as a string');
  }
  if (name !== undefined && (typeof name !== 'string' || name === '' || path.basename(name) !== name || name === '.' || name === '..')) {
    throw new TypeError('modelText: the name must be a plain file name such as "rules.model"');
  }
  return { text, name };
}

/**
 * Model arguments as the binary takes them, the folder it runs in and a clean-up. With model text,
 * the binary runs in a scratch folder holding it, and model files are given by absolute path.
 */
function modelArguments(models, cwd) {
  const list = Array.isArray(models) ? models : [models];
  if (list.length === 0) {
    throw new TypeError('tracecheck: no models given (a .model file path, modelText(...), or an array of them)');
  }
  const entries = list.map((m) => {
    if (typeof m === 'string') {
      if (m === '') {
        throw new TypeError('tracecheck: an empty model path');
      }
      return m.includes('{') ? { text: m } : { file: m };
    }
    if (m instanceof URL) {
      return { file: require('node:url').fileURLToPath(m) };
    }
    if (m && typeof m.text === 'string') {
      return { text: m.text, name: m.name };
    }
    throw new TypeError('tracecheck: models are .model file paths (strings or file URLs), model text, or modelText(...) values');
  });
  if (!entries.some((e) => e.text !== undefined)) {
    return { args: entries.map((e) => e.file), cwd, cleanup: () => {} };
  }
  const base = cwd === undefined ? process.cwd() : path.resolve(cwd);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracecheck-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const used = new Set();
    let unnamed = 0;
    const args = entries.map((e) => {
      if (e.file !== undefined) {
        return path.resolve(base, e.file);
      }
      let name = e.name;
      if (name === undefined) {
        unnamed += 1;
        name = unnamed === 1 ? TEXT_NAME : TEXT_NAME.replace(/>$|\.model$/, (end) => ` ${unnamed}${end}`);
      }
      if (used.has(name)) {
        throw new TypeError(`tracecheck: two model texts are named ${JSON.stringify(name)}`);
      }
      used.add(name);
      fs.writeFileSync(path.join(dir, name), e.text);
      return name;
    });
    return { args, cwd: dir, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// The binary

/** An error of tracecheck itself: no binary, models that do not parse, data it cannot read. */
class TracecheckError extends Error {
  constructor(message, details = {}) {
    super(message);
    this.name = 'TracecheckError';
    /** The binary's exit code, when it ran. */
    this.exitCode = details.exitCode;
    /** What the binary printed on standard error, when it ran. */
    this.stderr = details.stderr;
  }
}

/** The failure of `assertHolds` / `assertViolates`; its message is the one the binary printed. */
class TracecheckAssertionError extends AssertionError {
  constructor(message, details = {}) {
    // operator "fail", as assert.fail's: Jest then prints the message as it is, without an
    // expected/received comparison.
    super({ message, operator: 'fail' });
    this.name = 'AssertionError';
    /** The verdict that was expected: "holds" or "violates". */
    this.verdict = details.verdict;
    /** The model files checked, as passed to the binary. */
    this.models = details.models;
    /** How many spans were checked. */
    this.spanCount = details.spanCount;
  }
}

function isExecutable(file) {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform === 'win32') {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of the tracecheck binary: TRACECHECK_BIN if set (relative paths are taken from the
 * current directory), else the first `tracecheck` on PATH; throws a TracecheckError saying how to
 * install it otherwise.
 */
function findBinary(env = process.env) {
  const given = env[BIN_ENV];
  if (given !== undefined && given !== '') {
    const file = path.resolve(given);
    if (!isExecutable(file)) {
      throw new TracecheckError(
        `tracecheck: ${BIN_ENV} is set to ${JSON.stringify(given)}, which is not an executable file; ` +
          `build the binary (cargo build in the tracecheck repository) or ${INSTALL_HINT}`,
      );
    }
    return file;
  }
  const names = process.platform === 'win32' ? ['tracecheck.exe', 'tracecheck.cmd', 'tracecheck'] : ['tracecheck'];
  for (const dir of (env.PATH || env.Path || '').split(path.delimiter)) {
    if (dir === '') {
      continue;
    }
    for (const name of names) {
      const file = path.join(dir, name);
      if (isExecutable(file)) {
        return file;
      }
    }
  }
  throw new TracecheckError(
    `tracecheck: the tracecheck binary was not found (${BIN_ENV} is not set and no tracecheck is on PATH); ${INSTALL_HINT}`,
  );
}

/** Runs the binary with `args`, `input` on its standard input; resolves to { code, stdout, stderr }. */
function run(bin, args, input, cwd) {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(bin, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      reject(new TracecheckError(`tracecheck: cannot run ${bin}: ${e.message}`));
      return;
    }
    const stdout = [];
    const stderr = [];
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    child.stderr.on('data', (chunk) => stderr.push(chunk));
    // The binary may stop before it reads its input (models that do not parse): a broken pipe then
    // is no error of ours, the exit code and stderr say what happened.
    child.stdin.on('error', (e) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') {
        reject(new TracecheckError(`tracecheck: writing the spans to ${bin} failed: ${e.message}`));
      }
    });
    child.on('error', (e) => {
      reject(
        new TracecheckError(
          e.code === 'ENOENT'
            ? `tracecheck: ${bin} does not exist; ${INSTALL_HINT}`
            : `tracecheck: cannot run ${bin}: ${e.message}`,
        ),
      );
    });
    child.on('close', (code, signal) => {
      resolve({
        code: signal ? null : code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    child.stdin.end(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  });
}

/** A TracecheckError for a run that neither met nor missed the expectation (exit 2, a signal, ...). */
function runError(bin, result) {
  const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.code}`;
  const stderr = result.stderr.trimEnd();
  const stdout = result.stdout.trimEnd();
  const said = stderr || stdout;
  return new TracecheckError(
    said
      ? `tracecheck: the captured spans could not be checked\n${said}`
      : `tracecheck: the captured spans could not be checked: ${bin} ${how}`,
    { exitCode: result.code, stderr: result.stderr },
  );
}

function resolveBin(bin) {
  return bin.includes('/') || bin.includes(path.sep) ? path.resolve(bin) : bin;
}

/** The spans of a SpanCapture, or an array of ReadableSpans (an InMemorySpanExporter's finished spans). */
function spansOf(capture) {
  if (Array.isArray(capture)) {
    return capture;
  }
  if (!capture || typeof capture.spans !== 'function') {
    throw new TypeError('tracecheck: the second argument is a SpanCapture or an array of ReadableSpans');
  }
  return capture.spans();
}

async function invoke(models, capture, options, extra) {
  const spans = spansOf(capture);
  // An absolute path: the binary may run in a scratch folder (model text).
  const bin = options.bin !== undefined ? resolveBin(options.bin) : findBinary(options.env);
  const input = encode(ProtobufTraceSerializer, spans);
  const { args, cwd, cleanup } = modelArguments(models, options.cwd);
  try {
    const argv = ['check', ...args, '--data', '-', ...extra];
    if (options.strict) {
      argv.push('--strict');
    }
    const result = await run(bin, argv, input, cwd);
    return { bin, args, result, spanCount: spans.length };
  } finally {
    cleanup();
  }
}

// ---------------------------------------------------------------------------------------------------
// Reports

/** The verdict of one model (the JSON report's model object, with two methods). */
class ModelReport {
  constructor(json) {
    Object.assign(this, json);
  }

  /** No violation. */
  holds() {
    return this.violations.length === 0;
  }

  /** Its `when` never held: the model proved nothing on these spans. */
  vacuous() {
    return this.assignments === 0;
  }
}

/** Every measurement of a `check` block's report holds. */
function checkHolds(c) {
  return (c.rules || []).every((r) => (r.measurements || []).every((m) => m.holds));
}

function checkWarnings(c) {
  return (c.rules || []).flatMap((r) => r.warnings || []);
}

/** What `tracecheck check --format json` reports. */
class Report {
  constructor(json) {
    this.files = json.files.map((f) => ({ ...f, models: f.models.map((m) => new ModelReport(m)) }));
    this.strict = json.strict;
    /** The exit code `tracecheck check` gives for this report: 0 when it holds, else 1. */
    this.exitCode = this.holds() ? 0 : 1;
  }

  /** Every model of every file, in order. */
  models() {
    return this.files.flatMap((f) => f.models);
  }

  /** Every `check` block's report (as the JSON has it: title, rules), in order. */
  checks() {
    return this.files.flatMap((f) => f.checks || []);
  }

  /** The model titled `title` (the first, if several files have one). */
  model(title) {
    return this.models().find((m) => m.title === title);
  }

  /**
   * Every model and `check` block holds; with `strict`, none has a warning either (a vacuous
   * model, a name that occurs nowhere in the spans). The verdict of `tracecheck check`.
   */
  holds() {
    const strict = this.strict;
    return (
      this.models().every((m) => m.holds() && (!strict || m.warnings.length === 0)) &&
      this.checks().every((c) => checkHolds(c) && (!strict || checkWarnings(c).length === 0))
    );
  }

  /** The number of violations of all models. */
  violationCount() {
    return this.models().reduce((n, m) => n + m.violations.length, 0);
  }
}

/**
 * Checks `models` against the spans `capture` holds now: the report `tracecheck check --format json`
 * gives. Rejects with a TracecheckError if the check could not run (no binary, a model that does not
 * parse: the error's message carries file:line:col).
 */
async function check(models, capture, options = {}) {
  const { bin, result } = await invoke(models, capture, options, ['--format', 'json']);
  if (result.code !== 0 && result.code !== 1) {
    throw runError(bin, result);
  }
  const report = parseReport(bin, result.stdout, result);
  if (report.exitCode !== result.code) {
    throw new TracecheckError(
      `tracecheck: ${bin} exited with ${result.code}, but its report says ${report.holds() ? 'it holds' : 'it fails'}`,
      { exitCode: result.code, stderr: result.stderr },
    );
  }
  return report;
}

function parseReport(bin, text, result) {
  try {
    return new Report(JSON.parse(text));
  } catch (e) {
    throw new TracecheckError(`tracecheck: ${bin} gave a report that is not tracecheck's JSON (${e.message})`, {
      exitCode: result.code,
      stderr: result.stderr,
    });
  }
}

/** The frames of the caller of `fn` (taken before any await, so they name the test). */
function callSite(fn) {
  const site = {};
  Error.captureStackTrace(site, fn);
  return site.stack.split('\n').slice(1).join('\n');
}

async function expectation(models, capture, options, expect, frames) {
  // The verdict and the message come from --expect; the report, for the caller, from --output.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracecheck-report-'));
  const output = path.join(dir, 'report.json');
  let run;
  let text;
  try {
    run = await invoke(models, capture, options, ['--expect', expect, '--format', 'json', '--output', output]);
    text = run.result.code === 0 ? fs.readFileSync(output, 'utf8') : undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const { bin, args, result, spanCount } = run;
  if (result.code === 0) {
    return parseReport(bin, text, result);
  }
  const error =
    result.code === 1
      ? new TracecheckAssertionError(result.stdout.trimEnd(), { models: args, spanCount, verdict: expect })
      : runError(bin, result);
  // The stack would show only this module and the child process machinery: show the test instead.
  error.stack = `${error.name}: ${error.message}\n${frames}`;
  throw error;
}

/**
 * Resolves to the Report if every rule of `models` holds on the captured spans and at least one
 * model applied; else rejects with an AssertionError whose message is tracecheck's (the failing
 * models, their failing clauses marked, each violating trace drawn as a tree).
 */
function assertHolds(models, capture, options = {}) {
  return expectation(models, capture, options, 'holds', callSite(assertHolds));
}

/** Resolves to the Report if some rule of `models` is violated on the captured spans (a test of faulty code). */
function assertViolates(models, capture, options = {}) {
  return expectation(models, capture, options, 'violates', callSite(assertViolates));
}

module.exports = {
  SpanCapture,
  Report,
  ModelReport,
  TracecheckError,
  TracecheckAssertionError,
  check,
  assertHolds,
  assertViolates,
  modelText,
  findBinary,
  BIN_ENV,
};
// `import tracecheck from 'tracecheck'` under TypeScript's CommonJS interop, like the ES module's default.
module.exports.default = module.exports;
