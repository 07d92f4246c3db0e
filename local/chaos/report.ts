/** The chaos report as a table: one row per figure, then every violation. */
import { ChaosReport } from './chaos';

export function formatReport(r: ChaosReport): string {
  const rows: [string, string][] = [
    ['seed', String(r.seed)],
    ['orders', `${r.orders} (${Object.entries(r.byStatus).map(([s, n]) => `${s} ${n}`).join(', ')})`],
    ['faults', `${r.faultsTotal} injected at ${r.faultRate} per kind, plus ${r.kills} kill -9`],
    ...Object.entries(r.faults).map(([kind, n]): [string, string] => [`  ${kind}`, String(n)]),
    ['requests', `${r.requests} (5xx: ${r.serverErrors.total}, of which injected ${r.serverErrors.injected})`],
    ['lost', String(r.lost)],
    ['duplicateEffects', String(r.duplicateEffects)],
    ['stockConserved', String(r.stockConserved)],
    ...r.stock.map((s): [string, string] => [`  ${s.sku}`, `${s.initial} + ${s.adjustments} = ${s.available} available + ${s.reserved} reserved + ${s.sold} sold`]),
    ['dlq', `${r.dlq.redriven} redriven, ${r.dlq.remaining.length} left`],
    ...r.dlq.remaining.map((d): [string, string] => [`  ${d.queue}`, `${d.messageId}: ${d.reason}`]),
    ['secondsToQuiescence', `${r.secondsToQuiescence} (load ${r.loadSeconds})`],
    ['violations', String(r.violations.length)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), ...r.violations.map((v) => `  - ${v}`), ...r.warnings.map((w) => `warning: ${w}`), ...(r.workDir ? [`work directory: ${r.workDir}`] : [])].join('\n');
}
