// Only the Jest files: test/ holds the node:test suite (npm test), vitest/ the Vitest one.
module.exports = {
  testMatch: ['<rootDir>/jest/**/*.test.js'],
  testEnvironment: 'node',
};
