/** The bench's npm test section reads jest's summary lines as jest prints them (passing, failing, none). */
import { jestSummary } from '../../bench/tests';

test('a passing run: suites and tests totals, none failed', () => {
  const output = 'PASS test/a.test.ts\n\nTest Suites: 78 passed, 78 total\nTests:       1358 passed, 1358 total\nSnapshots:   0 total\nTime:        227.3 s\n';
  expect(jestSummary(output)).toEqual({ suites: 78, tests: 1358, failed: 0 });
});

test('a failing run: the failed count of the tests line', () => {
  const output = 'Test Suites: 1 failed, 77 passed, 78 total\nTests:       1 failed, 2 skipped, 1355 passed, 1358 total\n';
  expect(jestSummary(output)).toEqual({ suites: 78, tests: 1358, failed: 1 });
});

test('no summary (jest never ran): nothing claimed', () => {
  expect(jestSummary('error TS2304: Cannot find name\n')).toEqual({});
});
