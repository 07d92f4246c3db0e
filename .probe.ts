import { startRuntime } from './local/runtime';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
(async () => {
  const fnlog: string[] = [];
  const live: string[] = [];
  const rt = await startRuntime({ port: 0, awsPort: 0, inMemory: true, timeScale: 30, outputsFile: '/tmp/probe/out.json', assemblyDir: '/tmp/probe/cdk.out', context: { stalePendingAfterSeconds: '2', sweepIntervalMinutes: '1' }, log: (l) => live.push(l), functionLog: (fn, l) => fnlog.push(`${fn} ${l}`), faults: { seed: 'crash-recovery', rate: Number(process.env.RATE ?? 0.1) } });
  const api = rt.outputs[rt.stackName].ApiUrl;
  const call = (m: string, r: string, b?: unknown, h: Record<string, string> = {}) => fetch(new URL(r, api), { method: m, headers: { 'content-type': 'application/json', ...h }, body: b === undefined ? undefined : JSON.stringify(b) }).then(async (x) => ({ status: x.status, body: await x.json() as any }));
  for (;;) { const p = await call('PUT', 'inventory/p-sku', { available: 50 }); if (p.status === 201 || p.status === 428) break; }
  const ids: string[] = [];
  await Promise.all(Array.from({ length: 40 }, async (_, i) => { for (;;) { const a = await call('POST', 'orders', { customerId: 'c-p', items: [{ sku: 'p-sku', quantity: 1 + (i % 3) }] }, { 'idempotency-key': `p-${i}` }); if (a.status === 201) { ids.push(a.body.orderId); return; } } }));
  await new Promise((r) => setTimeout(r, 40000));
  const sqs = new SQSClient({ endpoint: rt.endpoints.aws, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
  for (const url of (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []) {
    const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    console.log('QUEUE', url.split('/').pop(), JSON.stringify(a.Attributes));
  }
  const statuses: Record<string, string[]> = {};
  for (const id of ids) { const s = (await call('GET', `orders/${id}`)).body.status; (statuses[s] ??= []).push(id); }
  console.log(JSON.stringify(Object.fromEntries(Object.entries(statuses).map(([k, v]) => [k, v.length]))));
  const flagged = statuses.NEEDS_ATTENTION?.[0] ?? statuses.PENDING?.[0];
  if (flagged) {
    console.log('FLAGGED', flagged);
    for (const l of live) if (l.includes(flagged)) console.log('LIVE', l);
    for (const l of fnlog) if (l.includes(flagged)) console.log('FN', l.slice(0, 600));
  }
  for (const l of live) if (/deliver|warn/.test(l)) console.log('LIVE', l.slice(0, 300));
  console.log(JSON.stringify(rt.faults.counts().byKind));
  await rt.stop();
})();
