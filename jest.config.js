/**
 * Transpile-only ts-jest (isolatedModules): `tsc --noEmit` type-checks separately in `npm test`.
 * @middy/core ships as ESM only: ts-jest also compiles it to CommonJS, so handlers load under jest unchanged.
 */
module.exports = {
  testEnvironment: 'node',
  // Two workers on two cores: the end-to-end suites mostly wait on (scaled) timers, so they overlap well with the rest.
  maxWorkers: 2,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true }],
    '^.+/node_modules/@middy/.+\\.js$': ['ts-jest', { isolatedModules: true, tsconfig: { allowJs: true, module: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  testSequencer: '<rootDir>/test/sequencer.js',
  // One DynamoDB Local (a JVM) for the whole run; test/support/local-tables.ts gives each caller its own tables on it.
  globalSetup: '<rootDir>/test/jest-global-setup.ts',
  globalTeardown: '<rootDir>/test/jest-global-teardown.ts',
};
