// Typings of the tracecheck package (index.js, index.mjs).

import { AssertionError } from 'node:assert';
import type { Attributes, Tracer, TracerOptions } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { BasicTracerProvider, ReadableSpan, Sampler, SpanLimits } from '@opentelemetry/sdk-trace-base';

/** The environment variable naming the tracecheck binary: "TRACECHECK_BIN". */
export declare const BIN_ENV: 'TRACECHECK_BIN';

export interface SpanCaptureOptions {
  /** `service.name` of the resource. */
  serviceName?: string;
  /** A Resource, or resource attributes; merged over the SDK's default resource. */
  resource?: Resource | Attributes;
  /** Default: every span is recorded, whatever OTEL_TRACES_SAMPLER says. */
  sampler?: Sampler;
  spanLimits?: SpanLimits;
}

/**
 * The spans of one test: its own tracer provider (never the global one) with a simple span
 * processor over an in-memory exporter.
 */
export declare class SpanCapture {
  constructor(options?: SpanCaptureOptions);
  /** The tracer provider: hand it to the code under test, or to `registerInstrumentations`. */
  readonly tracerProvider: BasicTracerProvider;
  /** A tracer of this capture's provider (instrumentation scope `name`, default "tracecheck"). */
  tracer(name?: string, version?: string, options?: TracerOptions): Tracer;
  /** The spans that ended so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** How many spans ended so far. */
  readonly length: number;
  /** Forgets the spans captured so far. */
  clear(): void;
  /** The captured spans as one OTLP ExportTraceServiceRequest, protobuf-encoded. */
  toOtlpProtobuf(): Uint8Array;
  /** The captured spans as one OTLP ExportTraceServiceRequest in OTLP/JSON. */
  toOtlpJson(): string;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Models given as text; messages call it `name` (default "<text>"). */
export interface ModelText {
  text: string;
  name?: string;
}

/**
 * A `.model` file path (string or file URL; relative to the current folder or `cwd`), model text
 * (a string holding "{", or modelText(...)), or a list of them.
 */
export type Models = string | URL | ModelText | ReadonlyArray<string | URL | ModelText>;

/** A capture, or spans from elsewhere (an InMemorySpanExporter's getFinishedSpans()). */
export type Spans = SpanCapture | ReadonlyArray<ReadableSpan>;

export interface CheckOptions {
  /** The binary; default: TRACECHECK_BIN, else `tracecheck` on PATH. */
  bin?: string;
  /** `--strict`: vacuous models and names that occur nowhere in the spans fail. */
  strict?: boolean;
  /** The directory the binary runs in (relative model paths are taken from it); default: the current one. */
  cwd?: string;
  /** The environment the binary is looked up in; default: process.env. */
  env?: Record<string, string | undefined>;
}

/** One violation: a trace (and `let` assignment) where a clause failed. */
export interface Violation {
  model: string;
  /** The failing clause, from 1. */
  clause: number;
  trace_id: string;
  /** `[name, span id]` of each `let` name. */
  assignment: Array<[string, string]>;
  /** How many spans matched the clause. */
  matched: number;
  /** The span ids that matched. */
  witnesses: string[];
}

/** The verdict of one model. */
export declare class ModelReport {
  title: string;
  /** Each clause's text, in order. */
  clauses: string[];
  /** How many times `when` held (0: vacuous). */
  assignments: number;
  /** The traces the model applied to. */
  traces: number;
  violations: Violation[];
  /** For example "vacuous: ..." or "span name \"x\" occurs nowhere in the data". */
  warnings: string[];
  holds(): boolean;
  /** Its `when` never held: the model proved nothing on these spans. */
  vacuous(): boolean;
}

export interface FileReport {
  path: string;
  models: ModelReport[];
  /** The reports of `check` blocks, as the binary's JSON gives them. */
  checks: Array<Record<string, unknown>>;
}

/** What `tracecheck check --format json` reports. */
export declare class Report {
  files: FileReport[];
  /** Checked with --strict. */
  strict: boolean;
  /** The exit code `tracecheck check` gives for this report: 0 when it holds, else 1. */
  exitCode: 0 | 1;
  models(): ModelReport[];
  checks(): Array<Record<string, unknown>>;
  model(title: string): ModelReport | undefined;
  /** Every model and check block holds; with strict, none has a warning either. */
  holds(): boolean;
  violationCount(): number;
}

/** tracecheck could not check: no binary, a model that does not parse (file:line:col), bad data. */
export declare class TracecheckError extends Error {
  /** The binary's exit code, when it ran. */
  exitCode?: number | null;
  /** What the binary printed on standard error, when it ran. */
  stderr?: string;
}

/** The failure of assertHolds / assertViolates; its message is the one tracecheck printed. */
export declare class TracecheckAssertionError extends AssertionError {
  /** The verdict that was expected. */
  verdict: 'holds' | 'violates';
  /** The model files checked, as passed to the binary. */
  models: string[];
  /** How many spans were checked. */
  spanCount: number;
}

/** Checks `models` against the spans `capture` holds now. */
export declare function check(models: Models, capture: Spans, options?: CheckOptions): Promise<Report>;

/**
 * Resolves to the report if every rule holds on the captured spans and at least one model applied
 * (with strict: and no model has a warning); else rejects with a TracecheckAssertionError carrying
 * tracecheck's message (or a TracecheckError when the check could not run).
 */
export declare function assertHolds(models: Models, capture: Spans, options?: CheckOptions): Promise<Report>;

/** Resolves to the report if some rule is violated on the captured spans (a test of faulty code). */
export declare function assertViolates(models: Models, capture: Spans, options?: CheckOptions): Promise<Report>;

/** Models given as text; `name` (a plain file name) is what messages call it, default "<text>". */
export declare function modelText(text: string, name?: string): ModelText;

/** The tracecheck binary: TRACECHECK_BIN, else `tracecheck` on PATH; throws a TracecheckError saying how to install it. */
export declare function findBinary(env?: Record<string, string | undefined>): string;

declare const tracecheck: {
  SpanCapture: typeof SpanCapture;
  Report: typeof Report;
  ModelReport: typeof ModelReport;
  TracecheckError: typeof TracecheckError;
  TracecheckAssertionError: typeof TracecheckAssertionError;
  check: typeof check;
  assertHolds: typeof assertHolds;
  assertViolates: typeof assertViolates;
  modelText: typeof modelText;
  findBinary: typeof findBinary;
  BIN_ENV: typeof BIN_ENV;
};
export default tracecheck;
