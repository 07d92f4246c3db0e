/** Each command's report as text for a terminal (--json prints the report itself). */
import type { PeekReport, PurgeReport, RedriveReport } from './dlq';
import type { ReplayFailedReport, ReplayReport } from './events';
import type { OrderReport } from './order';
import type { StatusReport } from './status';
import type { SweepRun } from './sweep';

function table(rows: string[][], rightAligned: number[] = []): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (rightAligned.includes(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

export function age(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}

export function renderSweep(run: SweepRun): string {
  const s = run.summary;
  const outcomes = s ? Object.entries(s.outcomes).map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing to do' : '';
  const detail = s ? `found republish ${s.found.republish}, expire ${s.found.expire}; ${outcomes}; failed ${s.failed}` : run.error ?? '';
  return `${run.name}  ${run.status}  ${run.startedAt ?? ''}  ${detail}`.trimEnd();
}

export function renderStatus(r: StatusReport): string {
  const rows = [['QUEUE', 'KIND', 'VISIBLE', 'IN FLIGHT', 'OLDEST', 'NAME'], ...r.queues.map((q) => [q.role, q.kind, String(q.visible), String(q.inFlight), age(q.oldestAgeSeconds), q.name])];
  const attention = r.queues.filter((q) => q.kind !== 'queue' && q.visible > 0).map((q) => q.role);
  return [
    `stack ${r.stack}`,
    table(rows, [2, 3]),
    attention.length ? `messages in ${attention.join(', ')}: ops dlq peek <queue>, then dlq redrive (or events replay-failed for a target DLQ)` : 'every DLQ is empty',
    `oldest: of a DLQ's first messages peeked; a consumer queue's age is the CloudWatch metric (its QueueAgeAlarm)`,
    r.alarms === null
      ? 'alarms: none evaluated here (the local runtime runs no CloudWatch: the DLQ counts above are what its DLQ alarms watch)'
      : r.alarms.length
        ? `alarms in ALARM (docs/runbook.md says what each means):\n${r.alarms.map((a) => `  ${a.name}${a.since ? ` since ${a.since}` : ''}${a.reason ? `: ${a.reason}` : ''}`).join('\n')}`
        : 'alarms in ALARM: none',
    r.sweeps.length ? `last sweeps:\n${r.sweeps.map((s) => `  ${renderSweep(s)}`).join('\n')}` : 'no sweep runs yet (ops sweep run starts one)',
  ].join('\n');
}

export function renderPeek(r: PeekReport): string {
  if (!r.messages.length) return `${r.queue} (${r.name}): empty`;
  const head = `${r.queue} (${r.name}): ${r.visible} visible, ${r.messages.length} shown (each peek counts as a receive)`;
  return [
    head,
    ...r.messages.map((m) => {
      const parts = [
        `- ${m.eventType ?? '(not an event)'}  order ${m.orderId ?? '-'}  receives ${m.receiveCount}  sent ${m.sentAt ?? '-'}  first received ${m.firstReceivedAt ?? '-'}`,
        m.attributes.ERROR_CODE ? `  ${m.attributes.ERROR_CODE}: ${m.attributes.ERROR_MESSAGE ?? ''}${m.attributes.RETRY_ATTEMPTS ? ` (after ${m.attributes.RETRY_ATTEMPTS} retries)` : ''}` : undefined,
        m.eventType ? undefined : `  ${m.body.slice(0, 200)}`,
      ];
      return parts.filter(Boolean).join('\n');
    }),
  ].join('\n');
}

export function renderRedrive(r: RedriveReport): string {
  if (r.status === 'NOTHING_TO_MOVE') return `${r.queue} (${r.name}) is empty: nothing to redrive`;
  return `redrive ${r.queue} -> ${r.destination}: ${r.status}, ${r.moved} of ${r.toMove} moved${r.failureReason ? ` (${r.failureReason})` : ''}`;
}

export const renderPurge = (r: PurgeReport) => `purged ${r.queue} (${r.name}): ${r.purged} message${r.purged === 1 ? '' : 's'} deleted`;

export function renderReplayFailed(r: ReplayFailedReport): string {
  return [`${r.queue} -> bus ${r.bus}: ${r.sent} event${r.sent === 1 ? '' : 's'} re-sent and deleted, ${r.failed.length} left`, ...r.failed.map((f) => `  ${f.messageId}: ${f.error}`)].join('\n');
}

export const renderReplay = (r: ReplayReport) =>
  `replay ${r.replayName} of ${r.archive} [${r.from}, ${r.to}) to ${r.rules.length ? r.rules.join(', ') : 'every rule'}: ${r.state}${r.eventLastReplayedTime ? `, last event ${r.eventLastReplayedTime}` : ''}`;

export function renderOrder(r: OrderReport): string {
  const o = r.order;
  return [
    `order ${o.orderId}  ${o.status}  customer ${o.customerId}  created ${o.createdAt}  updated ${o.updatedAt}`,
    ...r.timeline.map((e) => `  ${(e.at ? `${e.approximate ? '~' : ''}${e.at}` : '(time not stored)').padEnd(25)}  ${e.kind.padEnd(12)}  ${e.what}`),
  ].join('\n');
}
