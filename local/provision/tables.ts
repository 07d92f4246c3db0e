/** AWS::DynamoDB::Table and GlobalTable -> tables in DynamoDB Local, with keys, indexes, streams and TTL. */
import { tableSpecFrom } from '../engines/tables';
import { Provisioning } from './context';

export async function provisionTables(p: Provisioning): Promise<void> {
  const tables = [...p.resources('AWS::DynamoDB::Table'), ...p.resources('AWS::DynamoDB::GlobalTable')];
  await p.engines.tables.createTables(
    tables.map(([id, r]) => tableSpecFrom(p.name(id), p.resolve(p.properties(r)))),
    p.identity.region,
  );
}
