import { MalformedEventError } from '../../../functions/domain/errors';
import { EVENT_CATALOGUE, EVENT_SOURCES, EVENT_TYPES, EventType, buildEvent, eventIdFor, parseEnvelope } from '../../../functions/domain/events';

const now = new Date('2026-03-04T05:06:07.000Z');
const items = [{ sku: 'sku-1', quantity: 2 }];

function envelope(type: string, detail: unknown, source: string = EVENT_SOURCES.orders): Record<string, unknown> {
  return { version: '0', id: 'eb-id', 'detail-type': type, source, account: '123456789012', time: now.toISOString(), region: 'us-east-1', resources: [], detail };
}

const placedDetail = buildEvent('OrderPlaced', { orderId: 'ord_1', customerId: 'c-1', correlationId: 'corr', items }, now).detail;

function malformed(fn: () => unknown): MalformedEventError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedEventError);
    return error as MalformedEventError;
  }
  throw new Error('expected MalformedEventError');
}

describe('buildEvent / eventIdFor', () => {
  test('the event id is `${orderId}:${type}` and does not depend on time', () => {
    expect(eventIdFor('OrderPaid', 'ord_9')).toBe('ord_9:OrderPaid');
    const later = buildEvent('OrderPlaced', { orderId: 'ord_1', customerId: 'c-1', correlationId: 'corr', items }, new Date('2030-01-01T00:00:00Z'));
    expect(later.detail.eventId).toBe(placedDetail.eventId);
    expect(placedDetail).toEqual({ eventId: 'ord_1:OrderPlaced', orderId: 'ord_1', customerId: 'c-1', correlationId: 'corr', items, occurredAt: now.toISOString() });
  });

  test('occurredAt given by the producer wins over now', () => {
    const event = buildEvent('OrderPlaced', { orderId: 'o', customerId: 'c', correlationId: 'x', items, occurredAt: '2025-12-31T00:00:00.000Z' }, now);
    expect(event.detail.occurredAt).toBe('2025-12-31T00:00:00.000Z');
  });

  test('a detail that breaks its schema cannot be built', () => {
    expect(() => buildEvent('OrderPlaced', { orderId: 'o', customerId: 'c', correlationId: 'x', items: [] }, now)).toThrow();
    expect(() => buildEvent('OrderPaid', { orderId: 'o', customerId: 'c', correlationId: 'x', items, paymentId: '' }, now)).toThrow();
  });

  test('every event type has a source from the catalogue', () => {
    expect(EVENT_TYPES.sort()).toEqual(['InventoryRejected', 'InventoryReserved', 'OrderCancelled', 'OrderPaid', 'OrderPlaced']);
    for (const type of EVENT_TYPES) expect(Object.values(EVENT_SOURCES)).toContain(EVENT_CATALOGUE[type].source);
    expect(EVENT_CATALOGUE.InventoryReserved.source).toBe('order-pipeline.inventory');
    expect(EVENT_CATALOGUE.OrderPlaced.source).toBe('order-pipeline.orders');
  });
});

describe('parseEnvelope', () => {
  const accepted: EventType[] = ['OrderPlaced', 'OrderCancelled'];

  test('a valid envelope (object or JSON text) parses to the catalogued event', () => {
    const expected = { type: 'OrderPlaced', detail: placedDetail };
    expect(parseEnvelope(envelope('OrderPlaced', placedDetail), accepted)).toEqual(expected);
    expect(parseEnvelope(JSON.stringify(envelope('OrderPlaced', placedDetail)), accepted)).toEqual(expected);
  });

  test('an inventory event from the inventory source parses', () => {
    const detail = { ...placedDetail, eventId: 'ord_1:InventoryRejected', reason: 'UNKNOWN_SKU', sku: 'x' };
    delete (detail as Record<string, unknown>).items;
    const event = parseEnvelope(envelope('InventoryRejected', detail, EVENT_SOURCES.inventory), ['InventoryRejected']);
    expect(event).toEqual({ type: 'InventoryRejected', detail });
  });

  test('wrong source -> MalformedEventError', () => {
    const error = malformed(() => parseEnvelope(envelope('OrderPlaced', placedDetail, EVENT_SOURCES.inventory), accepted));
    expect(error.message).toContain('must come from order-pipeline.orders');
    malformed(() => parseEnvelope(envelope('OrderPlaced', placedDetail, 'someone.else'), accepted));
    malformed(() => parseEnvelope({ ...envelope('OrderPlaced', placedDetail), source: undefined }, accepted));
  });

  test.each(['OrderShipped', '', 'constructor', 'toString', '__proto__'])('unknown detail-type %p -> MalformedEventError', (type) => {
    malformed(() => parseEnvelope(envelope(type, placedDetail), accepted));
  });

  test('a missing detail-type -> MalformedEventError', () => {
    const { 'detail-type': _omitted, ...rest } = envelope('OrderPlaced', placedDetail);
    expect(_omitted).toBe('OrderPlaced');
    expect(malformed(() => parseEnvelope(rest, accepted)).message).toContain('unknown detail-type');
  });

  test('a catalogued type this consumer does not accept -> MalformedEventError', () => {
    const paid = buildEvent('OrderPaid', { orderId: 'o', customerId: 'c', correlationId: 'x', items, paymentId: 'p' }, now).detail;
    expect(malformed(() => parseEnvelope(envelope('OrderPaid', paid), accepted)).message).toContain('not handled here');
  });

  test.each([
    ['not JSON', '{"detail-type": '],
    ['JSON null', 'null'],
    ['JSON number', '42'],
    ['null', null],
    ['undefined', undefined],
  ])('%s -> MalformedEventError', (_name, raw) => {
    malformed(() => parseEnvelope(raw, accepted));
  });

  test.each<[string, (d: Record<string, unknown>) => unknown]>([
    ['no detail', () => undefined],
    ['detail not an object', () => 'text'],
    ['missing orderId', ({ orderId: _o, ...d }) => d],
    ['missing eventId', ({ eventId: _e, ...d }) => d],
    ['missing correlationId', ({ correlationId: _c, ...d }) => d],
    ['empty customerId', (d) => ({ ...d, customerId: '' })],
    ['no items', (d) => ({ ...d, items: [] })],
    ['a line with quantity 0', (d) => ({ ...d, items: [{ sku: 's', quantity: 0 }] })],
    ['a line with an unknown field', (d) => ({ ...d, items: [{ sku: 's', quantity: 1, colour: 'red' }] })],
  ])('%s -> MalformedEventError naming the detail', (_name, change) => {
    const error = malformed(() => parseEnvelope(envelope('OrderPlaced', change({ ...placedDetail })), accepted));
    expect(error.message).toContain('OrderPlaced detail is malformed');
  });

  test('an OrderCancelled with a reason outside the catalogue -> MalformedEventError', () => {
    const cancelled = buildEvent('OrderCancelled', { orderId: 'o', customerId: 'c', correlationId: 'x', items, reason: 'CUSTOMER' }, now).detail;
    expect(parseEnvelope(envelope('OrderCancelled', cancelled), accepted).type).toBe('OrderCancelled');
    const error = malformed(() => parseEnvelope(envelope('OrderCancelled', { ...cancelled, reason: 'BORED' }), accepted));
    expect(error.message).toContain('reason');
  });
});
