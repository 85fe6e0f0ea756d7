// The ES module entry point: the same objects as the CommonJS one (index.js), so a test that mixes
// `import` and `require` sees one SpanCapture class and one TracecheckAssertionError.
import tracecheck from './index.js';

export const {
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
} = tracecheck;

export default tracecheck;
