/**
 * Transpile-only ts-jest (isolatedModules): `tsc --noEmit` type-checks separately in `npm test`.
 * @middy/core ships as ESM only: ts-jest also compiles it to CommonJS, so handlers load under jest unchanged.
 */
module.exports = {
  testEnvironment: 'node',
  // Three workers on two cores: the two end-to-end suites spend much of their time waiting on (scaled) timers and
  // on each other's processes, so a third worker runs the other suites meanwhile.
  maxWorkers: 3,
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
