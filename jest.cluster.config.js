/**
 * `npm run test:cluster`: the production topology of `npm run cluster` (scripts/cluster.ts) brought
 * up by the test itself, with its faults. Apart from the README test command's suites (CI runs both).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  testMatch: ['<rootDir>/test/cluster/**/*.cluster-test.ts'],
  testTimeout: 600_000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  maxWorkers: 1,
};
