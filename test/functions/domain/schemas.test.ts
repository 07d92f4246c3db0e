import { canConfirmPayments, idempotencyScope, isAdmin, mayActFor } from '../../../functions/domain/caller';
import { ORDER_LIMITS, TRANSITIONS, canTransition, orderView } from '../../../functions/domain/order';
import { orderIdFor } from '../../../functions/domain/orders';
import { customerIdSchema, fieldPath, idempotencyKeySchema, paymentSchema, placeOrderSchema, setStockSchema, skuSchema, toProblems } from '../../../functions/domain/schemas';
import { customer, service, storedOrder } from './fixtures';

describe('schemas', () => {
  test('a valid order parses to a canonical shape (key order does not matter)', () => {
    const a = placeOrderSchema.parse({ items: [{ quantity: 2, sku: 'x' }], customerId: 'c' });
    const b = placeOrderSchema.parse({ customerId: 'c', items: [{ sku: 'x', quantity: 2 }] });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  test('ids are printable text: right-to-left scripts and emoji pass; controls, bidi overrides and unpaired surrogates do not', () => {
    for (const id of ['\u05e9\u05dc\u05d5\u05dd-42', '\u0645\u0631\u062d\u0628\u0627', 'caf\u00e9', 'sku-\ud83c\udf4e', 'a b']) expect(customerIdSchema.safeParse(id).success).toBe(true);
    for (const id of ['a\u0000', 'a\u001b[31m', 'a\u007f', 'a\u0085', 'a\u202egnp.exe', 'a\u2066b', 'a\u200f', 'a\ud800', '\udc00a']) {
      const parsed = skuSchema.safeParse(id, { reportInput: true });
      expect(parsed.success || toProblems(parsed.error, 'sku')).toEqual([{ field: 'sku', message: 'sku must be printable text: no control or bidirectional formatting characters, no unpaired surrogates' }]);
    }
  });

  test('fieldPath writes JSON-pointer-like paths', () => {
    expect(fieldPath(['items', 2, 'quantity'])).toBe('items[2].quantity');
    expect(fieldPath(['customerId'])).toBe('customerId');
    expect(fieldPath([])).toBe('');
    expect(fieldPath(['a', 'b', 0, 1])).toBe('a.b[0][1]');
  });

  test('toProblems: "is required" only for a missing value, the schema message for a wrong one', () => {
    const missing = setStockSchema.safeParse({}, { reportInput: true });
    const wrong = setStockSchema.safeParse({ available: 'ten' }, { reportInput: true });
    expect(missing.success || toProblems(missing.error)).toEqual([{ field: 'available', message: 'available is required' }]);
    expect(wrong.success || toProblems(wrong.error)).toEqual([{ field: 'available', message: 'available must be an integer from 0 to 1000000000' }]);
  });

  test('toProblems prefixes the field and names unknown fields', () => {
    const key = idempotencyKeySchema.safeParse('', { reportInput: true });
    expect(key.success || toProblems(key.error, 'Idempotency-Key')).toEqual([{ field: 'Idempotency-Key', message: 'Idempotency-Key header must be 1 to 255 characters' }]);
    const extra = paymentSchema.safeParse({ paymentId: 'p', a: 1, b: 2 }, { reportInput: true });
    expect(extra.success || toProblems(extra.error)).toEqual([{ field: '(body)', message: 'unknown field(s): a, b' }]);
  });

  test('a duplicate sku is reported even when another line has a wrong type', () => {
    const parsed = placeOrderSchema.safeParse(
      { customerId: 7, items: [{ sku: 'a', quantity: 1 }, { sku: 'b', quantity: '2' }, { sku: 'a', quantity: 1.5 }, null] },
      { reportInput: true },
    );
    expect(parsed.success).toBe(false);
    expect(parsed.success || toProblems(parsed.error).map((p) => p.field).sort()).toEqual(['customerId', 'items[1].quantity', 'items[2].quantity', 'items[2].sku', 'items[3]']);
  });

  test('the limits are the ones the API documents', () => {
    expect(ORDER_LIMITS.lines).toEqual({ min: 1, max: 50 });
    expect(ORDER_LIMITS.quantity).toEqual({ min: 1, max: 999 });
    expect(ORDER_LIMITS.listPageSize).toEqual({ default: 20, max: 100 });
  });
});

describe('order transitions', () => {
  test.each([
    ['PENDING', 'RESERVED', true],
    ['NEEDS_ATTENTION', 'RESERVED', true],
    ['PENDING', 'REJECTED', true],
    ['RESERVED', 'PAID', true],
    ['PENDING', 'PAID', false],
    ['RESERVED', 'CANCELLED', true],
    ['PAID', 'CANCELLED', false],
    ['REJECTED', 'CANCELLED', false],
    ['NEEDS_ATTENTION', 'CANCELLED', true],
    ['RESERVED', 'REJECTED', false],
    ['PENDING', 'NEEDS_ATTENTION', true],
    ['RESERVED', 'NEEDS_ATTENTION', false],
  ] as const)('%s -> %s allowed: %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  test('nothing enters PENDING', () => {
    expect(TRANSITIONS.PENDING).toEqual([]);
  });

  test('orderView hides the bookkeeping', () => {
    const view = orderView(storedOrder({ republishCount: 2, paymentId: 'p', correlationId: 'c', requestHash: 'h' }));
    expect(Object.keys(view).sort()).toEqual(['createdAt', 'customerId', 'items', 'orderId', 'paymentId', 'status', 'statusChangedAt', 'updatedAt']);
  });
});

describe('callers', () => {
  test('services and admin customers act for anyone; customers for themselves', () => {
    expect(mayActFor(service(), 'c-1')).toBe(true);
    expect(mayActFor(customer('c-1'), 'c-1')).toBe(true);
    expect(mayActFor(customer('c-1'), 'c-2')).toBe(false);
    expect(mayActFor(customer('c-1', ['orders/admin']), 'c-2')).toBe(true);
    expect(mayActFor(customer('c-1', ['orders/payments']), 'c-2')).toBe(false);
    expect(isAdmin(customer('c-1', ['orders/payments']))).toBe(false);
  });

  test('payments need the payments or admin scope', () => {
    expect(canConfirmPayments(customer('c-1'))).toBe(false);
    expect(canConfirmPayments(customer('c-1', ['orders/payments']))).toBe(true);
    expect(canConfirmPayments(customer('c-1', ['orders/admin']))).toBe(true);
    expect(canConfirmPayments(service())).toBe(true);
  });

  test('idempotency keys are scoped per caller, and order ids follow', () => {
    expect(idempotencyScope(service('a'))).toBe('service:a');
    expect(idempotencyScope(customer('a'))).toBe('customer:a');
    expect(orderIdFor('service:a', 'k')).toMatch(/^ord_[0-9a-f]{26}$/);
    expect(orderIdFor('service:a', 'k')).toBe(orderIdFor('service:a', 'k'));
    expect(orderIdFor('service:a', 'k')).not.toBe(orderIdFor('customer:a', 'k'));
    // The separator keeps ("a", "bk") and ("ab", "k") apart.
    expect(orderIdFor('a', 'bk')).not.toBe(orderIdFor('ab', 'k'));
  });
});
