/**
 * The local ops page: served by the runtime's AWS endpoint under /_local/ops/ (127.0.0.1 only; the endpoint refuses
 * a non-loopback Host). The page is static HTML and a script (local/ops-page/static, no build step); what it shows
 * comes from the JSON routes below, which are the operator's CLI functions (ops/) on SDK clients pointed at the
 * runtime's own endpoint: the page and `npm run ops` read and act through one code path, the one that works on AWS.
 *
 * Routes (every error `application/problem+json`):
 *   GET  /_local/ops/                       the page (and /app.js, /style.css)
 *   GET  /_local/ops/api/status             every queue and DLQ with its counts, the last sweep runs
 *   GET  /_local/ops/api/history            throughput and queue depth, sampled every 2 s over the last 10 minutes
 *   GET  /_local/ops/api/dlq/<queue>        a DLQ's messages, peeked in place (?limit=N, default 10)
 *   POST /_local/ops/api/dlq/<queue>/redrive  StartMessageMoveTask back to the source queue (202, the task)
 *   GET  /_local/ops/api/dlq/<queue>/redrive  the DLQ's latest move task, as ListMessageMoveTasks reports it
 *   GET  /_local/ops/api/orders             orders by status (?status=PAID, ?limit=N)
 *   GET  /_local/ops/api/orders/<orderId>   the order and its timeline
 * A POST must carry `content-type: application/json`: a page of another origin cannot send that without a CORS
 * preflight, which this server never grants, so it cannot start a redrive behind the operator's back.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ScanCommand, ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { ORDER_STATUSES, OrderStatus } from '../../functions/domain/order';
import type { StoredOrder } from '../../functions/domain/ports';
import { aws, OpsContext } from '../../ops/context';
import { peekDlq, redriveProgress, startRedrive } from '../../ops/dlq';
import { OpsError, OrderNotFoundError, UnknownQueueError, UsageError } from '../../ops/errors';
import { orderTimeline } from '../../ops/order';
import { output } from '../../ops/stack';
import { status } from '../../ops/status';
import type { AdminAnswer, AdminRequest } from '../issuer/issuer-api';
import { isOpsPagePath, OPS_PAGE_PATH } from './path';
import { QueueDepthSampler } from './sampler';


const STATIC: Record<string, { file: string; contentType: string }> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', contentType: 'text/css; charset=utf-8' },
};

/** An order as the page lists it. */
export interface OrderRow {
  orderId: string;
  customerId: string;
  status: string;
  createdAt: string;
  statusChangedAt?: string;
  items: number;
}

export interface OrdersReport {
  /** Orders per status, of those read. */
  counts: Record<OrderStatus, number>;
  /** Newest first, of the status asked for (all when none). */
  orders: OrderRow[];
  /** Items read by the scan; `truncated` when the table holds more than the page reads. */
  scanned: number;
  truncated: boolean;
}

/** A local page lists what one scan of up to this many orders finds (the table has no index by status). */
const SCAN_LIMIT = 5_000;

export class OpsPage {
  constructor(
    private readonly ctx: OpsContext,
    readonly sampler: QueueDepthSampler,
  ) {}

  /** Undefined for a path that is not the page's. */
  async handle(request: AdminRequest): Promise<AdminAnswer | undefined> {
    if (!isOpsPagePath(request.path)) return undefined;
    const route = request.path.slice(OPS_PAGE_PATH.length) || '/';
    if (route === '/' && request.path === OPS_PAGE_PATH) return { status: 301, body: null, headers: { location: `${OPS_PAGE_PATH}/` } };
    try {
      const file = STATIC[route];
      if (file) return request.method === 'GET' ? { status: 200, body: null, text: this.read(file.file), contentType: file.contentType, headers: { 'cache-control': 'no-cache' } } : methodNotAllowed(request, 'GET');
      if (!route.startsWith('/api/')) return problem(404, 'Not Found', `no ops page resource ${route}`);
      return await this.api(request, route.slice('/api'.length), new URLSearchParams(request.query ?? ''));
    } catch (error) {
      return problemOf(error);
    }
  }

  private async api(request: AdminRequest, route: string, query: URLSearchParams): Promise<AdminAnswer> {
    const parts = route.split('/').filter(Boolean).map(decodeURIComponent);
    const get = request.method === 'GET';
    if (request.method === 'POST' && !String(request.headers?.['content-type'] ?? '').startsWith('application/json')) {
      return problem(415, 'Unsupported Media Type', 'a POST to the ops page needs content-type: application/json (the page sends it; a form of another origin cannot)');
    }
    if (parts[0] === 'status' && parts.length === 1) {
      if (!get) return methodNotAllowed(request, 'GET');
      this.sampler.start();
      return ok(await status(this.ctx, { ages: false, sweeps: 5 }));
    }
    if (parts[0] === 'history' && parts.length === 1) {
      if (!get) return methodNotAllowed(request, 'GET');
      this.sampler.start();
      return ok(this.sampler.history());
    }
    if (parts[0] === 'dlq' && parts.length === 2) {
      if (!get) return methodNotAllowed(request, 'GET');
      return ok(await peekDlq(this.ctx, parts[1], { limit: limitOf(query, 10, 100) }));
    }
    if (parts[0] === 'dlq' && parts.length === 3 && parts[2] === 'redrive') {
      if (request.method === 'POST') {
        const rate = (request.body as { rate?: unknown } | undefined)?.rate;
        if (rate !== undefined && typeof rate !== 'number') throw new UsageError('rate must be a number of messages per second');
        const started = await startRedrive(this.ctx, parts[1], { rate: rate as number | undefined });
        return { status: started.status === 'RUNNING' ? 202 : 200, body: started };
      }
      if (!get) return methodNotAllowed(request, 'GET, POST');
      const task = await redriveProgress(this.ctx, parts[1], query.get('taskHandle') ?? undefined, { optional: true });
      return task ? ok(task) : problem(404, 'Not Found', `${parts[1]} has had no redrive`);
    }
    if (parts[0] === 'orders' && parts.length === 1) {
      if (!get) return methodNotAllowed(request, 'GET');
      const wanted = query.get('status') ?? undefined;
      if (wanted !== undefined && !(ORDER_STATUSES as readonly string[]).includes(wanted)) throw new UsageError(`status must be one of ${ORDER_STATUSES.join(', ')}`);
      return ok(await this.orders(wanted, limitOf(query, 50, 500)));
    }
    if (parts[0] === 'orders' && parts.length === 2) {
      if (!get) return methodNotAllowed(request, 'GET');
      return ok(await orderTimeline(this.ctx, parts[1]));
    }
    return problem(404, 'Not Found', `no ops page API ${request.method} /api${route}: there are status, history, dlq/<queue>, dlq/<queue>/redrive, orders and orders/<orderId>`);
  }

  /** Every order one scan reads, counted by status; the newest `limit` of `wanted`. */
  private async orders(wanted: string | undefined, limit: number): Promise<OrdersReport> {
    const table = output(this.ctx.stack, 'OrdersTableName');
    const counts = Object.fromEntries(ORDER_STATUSES.map((s) => [s, 0])) as Record<OrderStatus, number>;
    const rows: OrderRow[] = [];
    let scanned = 0;
    let start: ScanCommandOutput['LastEvaluatedKey'];
    do {
      const page: ScanCommandOutput = await aws(this.ctx, `Scan ${table}`, () =>
        this.ctx.clients.ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, Limit: Math.min(1_000, SCAN_LIMIT - scanned) })),
      );
      for (const item of (page.Items ?? []) as StoredOrder[]) {
        scanned++;
        if (item.status in counts) counts[item.status as OrderStatus]++;
        if (wanted === undefined || item.status === wanted) {
          rows.push({ orderId: item.orderId, customerId: item.customerId, status: item.status, createdAt: item.createdAt, ...(item.statusChangedAt ? { statusChangedAt: item.statusChangedAt } : {}), items: item.items.length });
        }
      }
      start = page.LastEvaluatedKey;
    } while (start && scanned < SCAN_LIMIT);
    rows.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    return { counts, orders: rows.slice(0, limit), scanned, truncated: Boolean(start) };
  }

  /** Read on every request (a few KB, from the page cache): an edited page shows on reload, no restart. */
  private read(file: string): string {
    return readFileSync(path.join(__dirname, 'static', file), 'utf8');
  }

}

function limitOf(query: URLSearchParams, fallback: number, max: number): number {
  const raw = query.get('limit');
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`limit must be an integer from 1 to ${max}`);
  return n;
}

const ok = (body: unknown): AdminAnswer => ({ status: 200, body });

/** RFC 9457 problem details, as the order API answers its errors. */
function problem(status: number, title: string, detail: string, headers: Record<string, string> = {}): AdminAnswer {
  return { status, body: null, text: JSON.stringify({ type: 'about:blank', title, status, detail }), contentType: 'application/problem+json', headers };
}

function methodNotAllowed(request: AdminRequest, allow: string): AdminAnswer {
  return problem(405, 'Method Not Allowed', `${request.method} is not allowed on ${request.path}: ${allow}`, { allow });
}

/** The CLI's typed errors as HTTP: unknown names 404, bad arguments 400, AWS calls that failed 502. */
function problemOf(error: unknown): AdminAnswer {
  if (error instanceof UnknownQueueError || error instanceof OrderNotFoundError) return problem(404, 'Not Found', error.message);
  if (error instanceof UsageError) return problem(400, 'Bad Request', error.message);
  if (error instanceof OpsError) return problem(502, 'Bad Gateway', error.message);
  return problem(500, 'Internal Server Error', error instanceof Error ? error.message : String(error));
}
