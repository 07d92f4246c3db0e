/**
 * Transpile-only with swc (@swc/jest): `tsc --noEmit` type-checks separately in `npm test`. Measured with an empty
 * transform cache (a fresh clone), the suites other than end to end: 142 s with swc, 162 s with transpile-only ts-jest.
 * @middy/core ships as ESM only: swc also compiles it to CommonJS, so handlers load under jest unchanged.
 */
const swc = (syntax) => ['@swc/jest', { jsc: { parser: { syntax }, target: 'es2022' }, module: { type: 'commonjs' } }];

module.exports = {
  testEnvironment: 'node',
  // Three workers on two cores: the end-to-end suites and the DynamoDB-bound ones spend much of their time waiting (on
  // scaled timers, on DynamoDB Local's JVM), which a third worker fills. Measured on this 2-core machine, the whole
  // run: 241 s with two workers, 198 s with three (that run also had the chaos suite at 60 orders instead of 100, so
  // the two changes share the 43 s).
  maxWorkers: 3,
  // A synthesis is 2 s of CPU on a quiet machine and several times that beside two other workers: jest's 5 s default
  // failed a test that synthesizes inside it (CI, 2026-12-01). Suites that wait on scaled timers set their own.
  testTimeout: 30_000,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': swc('typescript'),
    '^.+/node_modules/@middy/.+\\.js$': swc('ecmascript'),
  },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  testSequencer: '<rootDir>/test/sequencer.js',
  // One DynamoDB Local (a JVM) for the whole run; test/support/local-tables.ts gives each caller its own tables on it.
  globalSetup: '<rootDir>/test/jest-global-setup.ts',
  globalTeardown: '<rootDir>/test/jest-global-teardown.ts',
};
