/**
 * The bundle benchmark's baselines (bench/bundles.ts): each function's baseline holds the SDK clients its access map
 * names and nothing else, and builds into a bundle that loads and exports a handler.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { baselineSource, buildBaselines, coldLoadMs } from '../../bench/bundles';
import { FUNCTION_NAMES, functionAccess } from '../../lib/function-access';

const CLIENTS = ['client-dynamodb', 'client-eventbridge', 'client-sns', 'client-sqs'];
const clientsIn = (source: string) => CLIENTS.filter((c) => source.includes(`@aws-sdk/${c}'`));

test("each baseline imports exactly the clients of the function's access map", () => {
  for (const channel of ['table', 'sns'] as const) {
    const access = functionAccess(channel);
    for (const name of FUNCTION_NAMES) {
      const a = access[name];
      const expected = [
        ...(Object.keys(a.tables ?? {}).length || a.queries?.length ? ['client-dynamodb'] : []),
        ...(a.bus?.length ? ['client-eventbridge'] : []),
        ...(a.notificationTopic?.length ? ['client-sns'] : []),
        ...(a.relayDeadLetterQueue?.length ? ['client-sqs'] : []),
      ];
      expect([name, clientsIn(baselineSource(a))]).toEqual([name, expected]);
    }
  }
  // A function that calls no AWS service gets a baseline without the SDK.
  expect(baselineSource(functionAccess('table').summarise)).not.toMatch(/@aws-sdk/);
});

test('a baseline sends each command its access names: a query for an index, a transaction for writes to two tables', () => {
  const table = functionAccess('table');
  expect(baselineSource(table.findWork)).toMatch(/new QueryCommand\(/);
  expect(baselineSource(table.findWork)).not.toMatch(/PutCommand|UpdateCommand|TransactWriteCommand/);
  expect(baselineSource(table.inventory)).toMatch(/new TransactWriteCommand\(/);
  expect(baselineSource(table.notification)).toMatch(/new PutCommand\(/);
  expect(baselineSource(table.notification)).not.toMatch(/TransactWriteCommand/);
});

test('the baselines build into bundles that load in a fresh process and export a handler', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-baselines-'));
  try {
    const built = buildBaselines(dir);
    for (const name of ['summarise', 'relay'] as const) {
      expect(typeof require(built[name]).handler).toBe('function');
      expect(coldLoadMs(built[name], '')).toBeGreaterThan(0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
