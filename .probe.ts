import { startRuntime } from './local/runtime';
(async () => {
  const lines: string[] = [];
  const rt = await startRuntime({ port: 0, awsPort: 0, inMemory: true, timeScale: 30, outputsFile: '/tmp/probe/out.json', assemblyDir: '/tmp/probe/cdk.out', useAssembly: process.env.ASM, context: process.env.ASM ? undefined : { stalePendingAfterSeconds: '2', sweepIntervalMinutes: '1' }, log: (l) => { lines.push(l); console.log(l); }, functionLog: (fn, l) => { if (/error|Error|fault|killed|Timed/i.test(l)) console.log('   FN', fn, l.slice(0, 300)); }, faults: { seed: 'x', rate: Number(process.env.RATE ?? 0.05) } });
  const api = rt.outputs[rt.stackName].ApiUrl;
  const call = (m: string, r: string, b?: unknown, h: Record<string, string> = {}) => fetch(new URL(r, api), { method: m, headers: { 'content-type': 'application/json', ...h }, body: b === undefined ? undefined : JSON.stringify(b) }).then(async (x) => ({ status: x.status, body: await x.json() as any }));
  console.log(await call('PUT', 'inventory/p-sku', { available: 50 }));
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) { const a = await call('POST', 'orders', { customerId: 'c-p', items: [{ sku: 'p-sku', quantity: 1 }] }, { 'idempotency-key': `p-${i}` }); console.log('POST', a.status); if (a.body.orderId) ids.push(a.body.orderId); }
  await new Promise((r) => setTimeout(r, 20000));
  for (const id of ids) console.log(id, (await call('GET', `orders/${id}`)).body.status);
  console.log(JSON.stringify(rt.faults.counts()));
  await rt.stop();
})();
