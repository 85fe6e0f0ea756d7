import { defineConfig } from 'vitest/config';

// Only the Vitest files: test/ holds the node:test suite (npm test).
export default defineConfig({
  test: {
    include: ['vitest/**/*.test.mjs'],
  },
});
