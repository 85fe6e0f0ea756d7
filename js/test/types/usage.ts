// Compiled by `npm run typecheck` (tsc --noEmit): the typings accept what the README shows and
// reject misuse (each @ts-expect-error must be an error).
import { trace, ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import tracecheck, {
  SpanCapture,
  assertHolds,
  assertViolates,
  check,
  findBinary,
  modelText,
  Report,
  ModelReport,
  TracecheckAssertionError,
  TracecheckError,
  BIN_ENV,
} from 'tracecheck';

async function usage(): Promise<void> {
  const capture = new SpanCapture({ serviceName: 'bank', resource: { 'host.name': 'bank-0' } });
  const tracer = capture.tracer('bank', '0.1.0');
  const w = tracer.startSpan('withdrawal', { attributes: { amount: 500 } });
  tracer.startSpan('commit', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, w)).end();
  w.end();
  const count: number = capture.length;
  const names: string[] = capture.spans().map((s) => s.name);
  const bytes: Uint8Array = capture.toOtlpProtobuf();

  await assertHolds('../../queries/bank.model', capture);
  await assertViolates(['a.model', modelText('model "m" { expect no span(name = "commit") }')], capture, { strict: true });
  const report: Report = await check(new URL('file:///x.model'), capture, { bin: findBinary(), cwd: '.' });
  const ok: boolean = report.holds() && report.exitCode === 0;
  const models: ModelReport[] = report.models();
  const vacuous: boolean = models[0].vacuous();
  const clause: number = models[0].violations[0].clause;
  const witnesses: string[] = models[0].violations[0].witnesses;
  const env: 'TRACECHECK_BIN' = BIN_ENV;
  await tracecheck.assertHolds('x.model', capture);

  try {
    await assertHolds('x.model', capture);
  } catch (e) {
    if (e instanceof TracecheckAssertionError) {
      const text: string = e.message;
      const spans: number = e.spanCount;
    } else if (e instanceof TracecheckError) {
      const code: number | null | undefined = e.exitCode;
    }
  }

  // @ts-expect-error: models are paths, URLs or modelText values
  await check(42, capture);
  await assertHolds('x.model', capture.spans());
  // @ts-expect-error: the second argument is a capture or spans
  await assertHolds('x.model', {});
  const failing: string[] = (await assertViolates('x.model', capture)).models().filter((m) => !m.holds()).map((m) => m.title);
  // @ts-expect-error: the exit code of a report is 0 or 1
  const two: 2 = report.exitCode;
  void [count, names, bytes, ok, vacuous, clause, witnesses, env, failing, two];
}
void usage;
