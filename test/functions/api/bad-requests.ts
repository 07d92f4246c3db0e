/**
 * fast-check generators of bad requests, one per API route: each starts from a valid request and breaks it in exactly
 * one known way, and says what the answer must be (status, and the field or words that name the problem). Limits
 * come from ORDER_LIMITS, routes from ROUTES, cursor keys from the table schema: nothing here restates them.
 * Not a test file itself (no `.test.ts`).
 */
import fc from 'fast-check';
import { RouteName, ROUTES, routeKey } from '../../../functions/api/routes';
import { ORDER_LIMITS, OrderStatus } from '../../../functions/domain/order';
import { ORDERS_TABLE } from '../../../functions/adapters/table-schema';

const L = ORDER_LIMITS;

/** What the answer to a bad request must say: its status, and the field `errors` names (400) or words in `detail`. */
export interface Expected {
  status: number;
  field?: string;
  detail?: string;
}

export interface BadRequest {
  /** What is wrong with it, e.g. `quantity: fractional`: the tally's key. */
  defect: string;
  expect: Expected;
  routeKey: string;
  pathParameters?: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  /** Lower-case, as HTTP APIs deliver them; a header set to undefined is left out. */
  headers: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
}

/** What the tables hold before the run: the targets a bad request aims at (written by the test's set-up). */
export interface Baseline {
  customerId: string;
  orders: Record<Extract<OrderStatus, 'PENDING' | 'RESERVED' | 'PAID' | 'CANCELLED' | 'REJECTED'>, string>;
  /** An order placed with this key, for a customer other than any generated here. */
  placedKey: string;
  stockedSku: string;
  stockedAvailable: number;
  stockedVersion: number;
  adjustmentKey: string;
  adjustmentDelta: number;
}

const KEY = Object.fromEntries(Object.entries(ROUTES).map(([name, spec]) => [name, routeKey(spec)])) as Record<RouteName, string>;

// ---------------------------------------------------------------------------------------------------------------
// Values

/** Safe identifier text: what a valid id, key or sku is made of here. */
const plain = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.'), minLength: min, maxLength: max });

/** A JSON number written as text (e.g. `1e400`, which JSON.parse reads as Infinity). */
class RawJson {
  constructor(readonly text: string) {}
}

/** JSON.stringify, with RawJson values written as their text. */
function jsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v) => (v instanceof RawJson ? `\u0000raw${raws.push(v.text) - 1}\u0000` : v));
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i) => raws[Number(i)]);
}

/**
 * Characters no identifier may hold: controls (NUL, ESC, DEL, C1), bidirectional overrides and isolates (text that
 * displays other than it reads), and, where JSON can carry them (`\ud800`), unpaired surrogates.
 */
const CONTROL_AND_BIDI = ['\u0000', '\u0001', '\u0007', '\t', '\n', '\u001b', '\u007f', '\u0085', '\u009b', '\u200e', '\u200f', '\u061c', '\u202a', '\u202b', '\u202d', '\u202e', '\u2066', '\u2067', '\u2069'];
const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff', '\ud83d'];

function insertOdd(chars: readonly string[]) {
  return fc.tuple(plain(1, 20), fc.constantFrom(...chars), fc.nat()).map(([text, odd, at]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + odd + text.slice(i);
  });
}

/** Longer than `max` characters: just over, past DynamoDB's 2,048-byte key limit, and in 3-byte characters. */
function oversized(max: number) {
  return fc.oneof(
    fc.integer({ min: max + 1, max: max + 40 }).map((n) => 'x'.repeat(n)),
    fc.integer({ min: 2049, max: 6000 }).map((n) => 'k'.repeat(n)),
    fc.integer({ min: Math.max(max + 1, 700), max: Math.max(max + 1, 700) + 800 }).map((n) => '\u20ac'.repeat(n)),
  );
}

/** A value nested `depth` deep: arrays or objects. */
function nested(depth: number, objects: boolean): RawJson {
  return new RawJson(objects ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth));
}
const depth = fc.integer({ min: 64, max: 5_000 });
const deeplyNested = fc.tuple(depth, fc.boolean()).map(([d, objects]) => nested(d, objects));
/** Where an object is wanted: arrays only (nested objects would be an object with an unknown field). */
const deeplyNestedArray = depth.map((d) => nested(d, false));

/** Anything but a string. */
const notAString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}), fc.array(plain(1, 5), { minLength: 1, maxLength: 3 }), deeplyNested);

type Case = { defect: string; value: unknown };

/** A text field with these limits, broken in one way. `inJson`: JSON can carry unpaired surrogates there. */
function badText(name: string, { max }: { min: number; max: number }, inJson: boolean): fc.Arbitrary<Case> {
  return fc.oneof(
    fc.constant({ defect: `${name}: empty`, value: '' }),
    oversized(max).map((value) => ({ defect: `${name}: oversized`, value })),
    insertOdd(CONTROL_AND_BIDI).map((value) => ({ defect: `${name}: control or bidi character`, value })),
    ...(inJson ? [insertOdd(LONE_SURROGATES).map((value) => ({ defect: `${name}: lone surrogate`, value }))] : []),
    ...(inJson ? [notAString.map((value) => ({ defect: `${name}: not a string`, value }))] : []),
  );
}

/** An integer field with these limits, broken in one way. */
function badInteger(name: string, { min, max }: { min: number; max: number }): fc.Arbitrary<Case> {
  return fc.oneof(
    fc.integer({ min: Math.max(min - 1_000_000, Number.MIN_SAFE_INTEGER), max: min - 1 }).map((value) => ({ defect: `${name}: below ${min}`, value })),
    fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }).map((value) => ({ defect: `${name}: above ${max}`, value })),
    fc.constantFrom(new RawJson('1e400'), new RawJson('-1e400'), new RawJson('1e308'), new RawJson('123456789012345678901234567890')).map((value) => ({ defect: `${name}: huge`, value })),
    fc
      .double({ min: Math.max(min, -1e12), max: Math.min(max, 1e12), noNaN: true, noDefaultInfinity: true })
      .filter((n) => !Number.isInteger(n))
      .map((value) => ({ defect: `${name}: fractional`, value })),
    fc.oneof(fc.integer({ min, max }).map(String), fc.boolean(), fc.constant(null), fc.constant([1]), fc.constant({}), deeplyNested).map((value) => ({ defect: `${name}: not a number`, value })),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

interface Target {
  routeKey: string;
  pathParameters?: Record<string, string>;
  headers?: Record<string, string | undefined>;
}

const request = (target: Target, defect: string, expect: Expected, body?: string, extra: Partial<BadRequest> = {}): BadRequest => ({
  defect,
  expect,
  routeKey: target.routeKey,
  ...(target.pathParameters ? { pathParameters: target.pathParameters } : {}),
  headers: { 'content-type': 'application/json', ...target.headers },
  ...(body === undefined ? {} : { body }),
  ...extra,
});

const invalid = (field: string): Expected => ({ status: 400, field });

const MALFORMED_JSON = ['{"a":1,}', "{'a':1}", '{a:1}', '{"a":NaN}', '{"a":1} // note', '{"a":1}{}', '{"a":"\\x"}', '{"a":"line\nbreak"}', 'undefined', '{"a":01}', '{"a":.5}', '{"a":+1}', '[1,2', '"open', '{"a":1}}', '\u0000'];
const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Content types that are not JSON; `binary` ones arrive base64-encoded, as API Gateway delivers them. */
const NOT_JSON: { type: string | undefined; binary: boolean }[] = [
  { type: undefined, binary: false },
  { type: '', binary: false },
  { type: 'text/plain', binary: false },
  { type: 'text/plain;charset=UTF-8', binary: false },
  { type: 'application/x-www-form-urlencoded', binary: false },
  { type: 'multipart/form-data; boundary=x', binary: true },
  { type: 'application/xml', binary: false },
  { type: 'application/octet-stream', binary: true },
  { type: 'application/json-patch+json', binary: true },
  { type: 'application/jsonl', binary: true },
  { type: 'image/png', binary: true },
  { type: 'json', binary: true },
];

/**
 * What breaks any JSON body the same way: none, empty, malformed, truncated, not an object, deeply nested, an unknown
 * field (small or huge), a content type that is not JSON.
 */
function badBody(target: Target, valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<BadRequest> {
  const body = invalid('(body)');
  return fc.oneof(
    fc.constantFrom(undefined, '').map((text) => request(target, 'body: none', body, text)),
    fc.oneof(fc.constantFrom(...MALFORMED_JSON), fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !parses(s))).map((text) => request(target, 'body: malformed JSON', body, text)),
    fc.tuple(valid, fc.nat()).map(([value, at]) => {
      const text = jsonText(value);
      return request(target, 'body: truncated JSON', body, text.slice(0, 1 + (at % (text.length - 1))));
    }),
    fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), plain(0, 10), fc.array(fc.integer(), { maxLength: 3 }), deeplyNestedArray).map((value) => request(target, 'body: not an object', body, jsonText(value))),
    fc.tuple(valid, plain(1, 12), fc.oneof(fc.integer(), plain(0, 10), deeplyNested)).map(([value, key, extra]) => request(target, 'body: unknown field', body, jsonText({ ...value, [`x-${key}`]: extra }))),
    fc.tuple(valid, fc.integer({ min: 256 * 1024, max: 1024 * 1024 })).map(([value, size]) => request(target, 'body: huge', body, jsonText({ ...value, padding: 'p'.repeat(size) }))),
    fc.tuple(valid, fc.constantFrom(...NOT_JSON)).map(([value, { type, binary }]) => {
      const text = jsonText(value);
      return request(
        { ...target, headers: { ...target.headers, 'content-type': type } },
        'content-type: not JSON',
        { status: 415, detail: 'content-type' },
        binary ? Buffer.from(text).toString('base64') : text,
        binary ? { isBase64Encoded: true } : {},
      );
    }),
  );
}

/** A JSON body with one field replaced. */
function withField(target: Target, valid: fc.Arbitrary<Record<string, unknown>>, field: string, bad: fc.Arbitrary<Case>): fc.Arbitrary<BadRequest> {
  return fc.tuple(valid, bad).map(([value, { defect, value: wrong }]) => request(target, defect, invalid(field), jsonText({ ...value, [field]: wrong })));
}

/** A JSON body with one field left out. */
function withoutField(target: Target, valid: fc.Arbitrary<Record<string, unknown>>, field: string): fc.Arbitrary<BadRequest> {
  return valid.map((value) => {
    const { [field]: _dropped, ...rest } = value;
    return request(target, `${field}: missing`, invalid(field), jsonText(rest));
  });
}

const idempotencyKey = plain(L.idempotencyKeyLength.min, 40).map((k) => `fz-${k}`.slice(0, L.idempotencyKeyLength.max));

/** The Idempotency-Key header missing, empty or too long (the body and everything else valid). */
function badIdempotencyKey(target: Target, body: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<BadRequest> {
  return fc.tuple(body, fc.oneof(fc.constant(undefined), fc.constant(''), fc.integer({ min: L.idempotencyKeyLength.max + 1, max: 4000 }).map((n) => 'i'.repeat(n)))).map(([value, key]) =>
    request(
      { ...target, headers: { ...target.headers, 'idempotency-key': key } },
      `Idempotency-Key: ${key === undefined ? 'missing' : key === '' ? 'empty' : 'oversized'}`,
      invalid('Idempotency-Key'),
      jsonText(value),
    ),
  );
}

/** A path parameter broken in one way (the request otherwise valid). */
function badPathParameter(name: string, limits: { min: number; max: number }, build: (value: string) => Target, body?: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<BadRequest> {
  return fc.tuple(badText(name, limits, false).filter((c) => c.value !== ''), body ?? fc.constant(undefined)).map(([{ defect, value }, b]) =>
    request(build(value as string), `path ${defect}`, invalid(name), b === undefined ? undefined : jsonText(b)),
  );
}

const ORDER_ID_LIMITS = L.orderIdLength;
/** A well-formed order id no order has. */
const unknownOrderId = fc.oneof(fc.stringMatching(/^ord_[0-9a-f]{26}$/), plain(1, 30).map((s) => `ord-unknown-${s}`)).map((id) => id.slice(0, ORDER_ID_LIMITS.max));
const unknownSku = plain(1, 30).map((s) => `fz-unstocked-${s}`.slice(0, L.skuLength.max));

// ---------------------------------------------------------------------------------------------------------------
// Valid bodies, to break

const validLines = fc.uniqueArray(fc.record({ sku: plain(1, 20).map((s) => `fz-${s}`), quantity: fc.integer({ min: L.quantity.min, max: L.quantity.max }) }), {
  minLength: 1,
  maxLength: 5,
  selector: (line) => line.sku,
});
const validOrder = fc.record({ customerId: plain(1, 20).map((s) => `fz-c-${s}`), items: validLines });
const validPayment = fc.record({ paymentId: plain(1, 30).map((s) => `pay-${s}`) });
const validSetStock = fc.record({ available: fc.integer({ min: L.available.min, max: L.available.max }) });
const validAdjustment = fc.record({ delta: fc.integer({ min: 1, max: 1000 }) });

type LinesCase = { defect: string; field: string; items: unknown[] };

/** Order lines broken in one way each (the field that names it is `items` or one line's): one arbitrary per kind. */
const BAD_LINES: fc.Arbitrary<LinesCase>[] = [
  fc.constant<LinesCase>({ defect: 'items: none', field: 'items', items: [] }),
  fc.integer({ min: L.lines.max + 1, max: 400 }).map((n) => ({ defect: 'items: too many lines', field: 'items', items: Array.from({ length: n }, (_, i) => ({ sku: `fz-line-${i}`, quantity: 1 })) })),
  fc.tuple(validLines, fc.nat()).map(([lines, at]) => {
    const i = at % lines.length;
    return { defect: 'items: duplicate sku', field: `items[${lines.length}].sku`, items: [...lines, { sku: lines[i].sku, quantity: 1 }] };
  }),
  ...(['sku', 'quantity'] as const).map((name) =>
    fc.tuple(validLines, fc.nat(), name === 'sku' ? badText('sku', L.skuLength, true) : badInteger('quantity', L.quantity)).map(([lines, at, { defect, value }]) => {
      const i = at % lines.length;
      return { defect, field: `items[${i}].${name}`, items: lines.map((line, j) => (j === i ? { ...line, [name]: value } : line)) };
    }),
  ),
  fc.tuple(validLines, fc.nat(), fc.constantFrom('sku', 'quantity')).map(([lines, at, name]) => {
    const i = at % lines.length;
    return { defect: `items: line without ${name}`, field: `items[${i}].${name}`, items: lines.map((line, j) => (j === i ? (name === 'sku' ? { quantity: line.quantity } : { sku: line.sku }) : line)) };
  }),
  fc.tuple(validLines, fc.nat(), fc.oneof(plain(0, 5), fc.integer(), fc.constant(null), fc.constant([]), deeplyNestedArray)).map(([lines, at, value]) => {
    const i = at % lines.length;
    return { defect: 'items: line not an object', field: `items[${i}]`, items: lines.map((line, j) => (j === i ? value : line)) };
  }),
  fc.tuple(validLines, fc.nat(), plain(1, 8)).map(([lines, at, key]) => {
    const i = at % lines.length;
    return { defect: 'items: line with an unknown field', field: `items[${i}]`, items: lines.map((line, j) => (j === i ? { ...line, [`x-${key}`]: 1 } : line)) };
  }),
  fc.oneof(plain(0, 5), fc.integer(), fc.constant(null), fc.constant({}), depth.map((d) => nested(d, true))).map((items) => ({ defect: 'items: not an array', field: 'items', items: items as unknown as unknown[] })),
];

// ---------------------------------------------------------------------------------------------------------------
// Per route

const mention = (status: number, detail: string): Expected => ({ status, detail });

/**
 * Requests refused by validation alone (cheap), each kind ten times as often as those the tables must answer
 * (unknown ids, wrong status, stale versions, reused keys: one scenario each, repeated), so that 10,000 runs stay
 * fast and still reach every kind dozens of times.
 */
function mix(validation: fc.Arbitrary<BadRequest>[], stateful: fc.Arbitrary<BadRequest>[] = []): fc.Arbitrary<BadRequest> {
  return fc.oneof(...validation.map((arbitrary) => ({ arbitrary, weight: 10 })), ...stateful.map((arbitrary) => ({ arbitrary, weight: 1 })));
}

/**
 * Stands for a value drawn per request (a fresh Idempotency-Key, the sku aimed at) in a header or path parameter;
 * `drawn` fills it in. So every arbitrary is built once, not once per request (fc.chain would rebuild them: slow).
 */
const DRAWN = '\u0000drawn';
function drawn(bad: fc.Arbitrary<BadRequest>, value: fc.Arbitrary<string>): fc.Arbitrary<BadRequest> {
  const fill = <T extends Record<string, string | undefined>>(values: T, v: string): T => Object.fromEntries(Object.entries(values).map(([k, x]) => [k, x === DRAWN ? v : x])) as T;
  return fc.tuple(bad, value).map(([b, v]) => ({ ...b, headers: fill(b.headers, v), ...(b.pathParameters ? { pathParameters: fill(b.pathParameters, v) } : {}) }));
}

/** The routes that read input (GET /openapi.json reads none: there is nothing to break). */
export type RouteWithInput = Exclude<RouteName, 'getApiDocument'>;

/** Every route's bad requests: typed by RouteName, so a new route without generators does not compile. */
export const BAD_REQUESTS: Record<RouteWithInput, (base: Baseline) => fc.Arbitrary<BadRequest>> = {
  placeOrder: (base) => {
    const target = (key: string): Target => ({ routeKey: KEY.placeOrder, headers: { 'idempotency-key': key } });
    const fresh = target(DRAWN);
    return drawn(
      mix(
        [
          badBody(fresh, validOrder),
          withField(fresh, validOrder, 'customerId', badText('customerId', L.customerIdLength, true)),
          withoutField(fresh, validOrder, 'customerId'),
          withoutField(fresh, validOrder, 'items'),
          ...BAD_LINES.map((badLines) => fc.tuple(validOrder, badLines).map(([order, { defect, field, items }]) => request(fresh, defect, invalid(field), jsonText({ ...order, items })))),
          badIdempotencyKey(fresh, validOrder),
        ],
        // The key of an order already placed, with another body: the first order stands.
        [validOrder.map((order) => request(target(base.placedKey), 'Idempotency-Key: reused with another body', mention(422, 'Idempotency-Key'), jsonText(order)))],
      ),
      idempotencyKey,
    );
  },

  listOrders: (base) => {
    const list = (query: Record<string, string>, defect: string, expect: Expected): BadRequest => ({ ...request({ routeKey: KEY.listOrders }, defect, expect), queryStringParameters: query });
    const { partitionKey, sortKey } = ORDERS_TABLE.indexes.byCustomer;
    const cursor = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
    const cursorKey = (orderId: string, createdAt: string, customerId = base.customerId) => ({ [ORDERS_TABLE.partitionKey]: orderId, [partitionKey]: customerId, [sortKey]: createdAt });
    return fc.oneof(
      fc.constant(list({}, 'customerId: missing', invalid('customerId'))),
      fc.constant(list({ customerId: '' }, 'customerId: empty', invalid('customerId'))),
      badText('customerId', L.customerIdLength, false)
        .filter((c) => c.value !== '')
        .map(({ defect, value }) => list({ customerId: value as string }, defect, invalid('customerId'))),
      fc
        .oneof(
          fc.constantFrom('0', '-1', '', ' 5', '5 ', '1.5', '1e1', '0x10', 'ten', '+5', '05.0', 'Infinity', 'NaN', '99999999999999999999999'),
          fc.integer({ min: L.listPageSize.max + 1, max: 1e9 }).map(String),
          fc.integer({ max: 0 }).map(String),
        )
        .map((limit) => list({ customerId: base.customerId, limit }, 'limit: not an integer in range', invalid('limit'))),
      fc
        .oneof(
          fc.string({ minLength: 1, maxLength: 60 }),
          fc.integer({ min: 3000, max: 20_000 }).map((n) => 'A'.repeat(n)),
          fc.jsonValue({ maxDepth: 2 }).map(cursor),
          plain(1, 20).map((other) => cursor(cursorKey(base.orders.PENDING, '2026-01-01T00:00:00.000Z', `fz-other-${other}`))),
          fc.constantFrom(cursorKey('', ''), cursorKey(base.orders.PENDING, ''), cursorKey('', '2026-01-01T00:00:00.000Z')).map(cursor),
          oversized(2048).map((big) => cursor(cursorKey(base.orders.PENDING, big))),
          oversized(2048).map((big) => cursor(cursorKey(big, '2026-01-01T00:00:00.000Z'))),
        )
        .map((nextToken) => list({ customerId: base.customerId, nextToken }, 'nextToken: not one this listing returned', invalid('nextToken'))),
    );
  },

  getOrder: () => {
    const target = (orderId: string): Target => ({ routeKey: KEY.getOrder, pathParameters: { orderId } });
    return mix([badPathParameter('orderId', ORDER_ID_LIMITS, target)], [unknownOrderId.map((id) => request(target(id), 'orderId: unknown', mention(404, 'does not exist')))]);
  },

  cancelOrder: (base) => {
    const target = (orderId: string): Target => ({ routeKey: KEY.cancelOrder, pathParameters: { orderId } });
    return mix(
      [badPathParameter('orderId', ORDER_ID_LIMITS, target)],
      [
        unknownOrderId.map((id) => request(target(id), 'orderId: unknown', mention(404, 'does not exist'))),
        fc.constantFrom('PAID', 'REJECTED' as const).map((status) => request(target(base.orders[status]), `order ${status}: cannot be cancelled`, mention(409, status))),
      ],
    );
  },

  confirmPayment: (base) => {
    const target = (orderId: string): Target => ({ routeKey: KEY.confirmPayment, pathParameters: { orderId } });
    const reserved = target(base.orders.RESERVED);
    return mix(
      [
        badBody(reserved, validPayment),
        withField(reserved, validPayment, 'paymentId', badText('paymentId', L.paymentIdLength, true)),
        withoutField(reserved, validPayment, 'paymentId'),
        badPathParameter('orderId', ORDER_ID_LIMITS, target, validPayment),
      ],
      [
        fc.tuple(unknownOrderId, validPayment).map(([id, body]) => request(target(id), 'orderId: unknown', mention(404, 'does not exist'), jsonText(body))),
        fc
          .tuple(fc.constantFrom('PENDING', 'CANCELLED', 'REJECTED', 'PAID' as const), validPayment)
          .map(([status, body]) => request(target(base.orders[status]), `order ${status}: cannot be paid`, mention(409, status), jsonText(body))),
      ],
    );
  },

  setStock: (base) => {
    const target = (sku: string, ifMatch?: string): Target => ({ routeKey: KEY.setStock, pathParameters: { sku }, headers: ifMatch === undefined ? {} : { 'if-match': ifMatch } });
    const s = DRAWN;
    return drawn(
      mix(
        [
          badBody(target(s), validSetStock),
          withField(target(s), validSetStock, 'available', badInteger('available', L.available)),
          withoutField(target(s), validSetStock, 'available'),
          badPathParameter('sku', L.skuLength, (bad) => target(bad), validSetStock),
          fc
            .tuple(fc.constantFrom('1', 'W/"1"', '"abc"', '"1", "2"', '*', '""', `"${'9'.repeat(16)}"`, '"-1"', '"1'), validSetStock)
            .map(([ifMatch, body]) => request(target(s, ifMatch), 'If-Match: not one ETag we issued', invalid('If-Match'), jsonText(body))),
        ],
        [
          validSetStock.map((body) => request(target(base.stockedSku), 'If-Match: missing for a stocked sku', mention(428, 'If-Match'), jsonText(body))),
          fc
            .tuple(fc.integer({ min: 0, max: 1e6 }).filter((v) => v !== base.stockedVersion), validSetStock)
            .map(([version, body]) => request(target(base.stockedSku, `"${version}"`), 'If-Match: stale', mention(412, 'changed since'), jsonText(body))),
          fc.tuple(unknownSku, validSetStock).map(([unknown, body]) => request(target(unknown, '"1"'), 'If-Match: for an unstocked sku', mention(404, 'not stocked'), jsonText(body))),
        ],
      ),
      fc.oneof(fc.constant(base.stockedSku), unknownSku),
    );
  },

  getStock: () => {
    const target = (sku: string): Target => ({ routeKey: KEY.getStock, pathParameters: { sku } });
    return mix([badPathParameter('sku', L.skuLength, target)], [unknownSku.map((sku) => request(target(sku), 'sku: unknown', mention(404, 'not stocked')))]);
  },

  adjustStock: (base) => {
    const target = (sku: string, key: string | undefined): Target => ({ routeKey: KEY.adjustStock, pathParameters: { sku }, headers: { 'idempotency-key': key } });
    const key = DRAWN;
    const stocked = target(base.stockedSku, key);
    return drawn(
      mix(
        [
          badBody(stocked, validAdjustment),
          withField(stocked, validAdjustment, 'delta', fc.oneof(badInteger('delta', L.adjustment), fc.constant({ defect: 'delta: zero', value: 0 }))),
          withoutField(stocked, validAdjustment, 'delta'),
          badIdempotencyKey(stocked, validAdjustment),
          badPathParameter('sku', L.skuLength, (bad) => target(bad, key), validAdjustment),
        ],
        [
          fc.tuple(unknownSku, validAdjustment).map(([sku, body]) => request(target(sku, key), 'sku: unknown', mention(404, 'not stocked'), jsonText(body))),
          fc
            .integer({ min: base.stockedAvailable + 1, max: -L.adjustment.min })
            .map((removed) => request(stocked, 'delta: removes more than available', mention(409, 'available'), jsonText({ delta: -removed }))),
          fc
            .integer({ min: 1, max: 1000 })
            .filter((delta) => delta !== base.adjustmentDelta)
            .map((delta) => request(target(base.stockedSku, base.adjustmentKey), 'Idempotency-Key: reused with another body', mention(422, 'Idempotency-Key'), jsonText({ delta }))),
        ],
      ),
      idempotencyKey,
    );
  },
};
