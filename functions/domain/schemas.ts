/**
 * Input and event schemas (zod), built from ORDER_LIMITS, and the shapes the API answers with: the API, the
 * consumers and the tests share them, and the API's OpenAPI document is generated from them (lib/openapi.ts).
 */
// A namespace import, as zod 4 advises: esbuild then bundles only what is used (`import { z }` kept all of zod,
// its 264 KB of error-message locales included: 455 KB of each 1.1 MB bundle, now 90 KB).
import * as z from 'zod';
import { CANCELLATION_REASONS, ORDER_LIMITS, ORDER_STATUSES, REJECTION_REASONS } from './order';
import { Problem } from './errors';

const L = ORDER_LIMITS;

/**
 * Controls (NUL, ESC, DEL, C1), bidirectional formatting (an id that displays other than it reads) and unpaired
 * surrogates (JSON's `\ud800`: no UTF-8 encodes them, so two different ids would store and hash as one).
 */
const UNPRINTABLE = /[\p{Cc}\p{Bidi_Control}\p{Cs}]/u;

const text = (name: string, { min, max }: { min: number; max: number }) =>
  z
    .string({ error: `${name} must be a string` })
    .min(min, { error: `${name} must be ${min} to ${max} characters` })
    .max(max, { error: `${name} must be ${min} to ${max} characters` })
    .refine((value) => !UNPRINTABLE.test(value), { error: `${name} must be printable text: no control or bidirectional formatting characters, no unpaired surrogates` });

const integer = (name: string, { min, max }: { min: number; max: number }) =>
  z
    .number({ error: `${name} must be an integer from ${min} to ${max}` })
    // Not .int(): its failure aborts the object's refinements, hiding a duplicate sku reported alongside.
    .refine(Number.isInteger, { error: `${name} must be an integer from ${min} to ${max}` })
    .min(min, { error: `${name} must be an integer from ${min} to ${max}` })
    .max(max, { error: `${name} must be an integer from ${min} to ${max}` })
    // The refinement is invisible to JSON Schema: the document says integer (zod-openapi's override).
    .meta({ override: { type: 'integer' } });

export const skuSchema = text('sku', L.skuLength);
export const orderIdSchema = text('orderId', L.orderIdLength);
export const customerIdSchema = text('customerId', L.customerIdLength);

/** The message when a body (or a line) is not an object at all; unknown fields get their own (toProblems). */
const OBJECT = (what: string) => ({ error: `${what} must be a JSON object` });

export const orderLineSchema = z.strictObject(
  {
    sku: skuSchema,
    quantity: integer('quantity', L.quantity),
  },
  OBJECT('each line of items ({sku, quantity})'),
);

export const placeOrderSchema = z
  .strictObject(
    {
      customerId: customerIdSchema,
      items: z
        .array(orderLineSchema, { error: 'items must be an array of {sku, quantity}' })
        .min(L.lines.min, { error: `items must hold ${L.lines.min} to ${L.lines.max} lines` })
        .max(L.lines.max, { error: `items must hold ${L.lines.min} to ${L.lines.max} lines` }),
    },
    OBJECT('the request body'),
  )
  .superRefine(
    (order, ctx) => {
      // Runs even when other fields are wrong (see `when`), so that every wrong field is reported at once:
      // `items` and its lines may be malformed here.
      if (!Array.isArray(order.items)) return;
      const seen = new Set<string>();
      order.items.forEach((line, i) => {
        const sku: unknown = line?.sku;
        if (typeof sku !== 'string') return;
        if (seen.has(sku)) {
          ctx.addIssue({ code: 'custom', path: ['items', i, 'sku'], message: `"${sku}" appears on an earlier line too: put the total quantity on one line` });
        }
        seen.add(sku);
      });
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );
export type PlaceOrderRequest = z.infer<typeof placeOrderSchema>;

/**
 * The body as a client sends it: a customer (JWT) may leave customerId out, the token's subject stands in
 * (placeOrder fills it in before placeOrderSchema parses).
 */
export const placeOrderBodySchema = z.strictObject({
  customerId: customerIdSchema.optional().meta({ description: 'Required for a service (IAM) caller; a customer (JWT) orders as the token subject' }),
  items: placeOrderSchema.shape.items.meta({ description: 'One line per sku' }),
});

const paymentIdSchema = text('paymentId', L.paymentIdLength);
export const paymentSchema = z.strictObject({ paymentId: paymentIdSchema }, OBJECT('the request body'));
export const setStockSchema = z.strictObject({ available: integer('available', L.available) }, OBJECT('the request body'));
export const adjustStockSchema = z.strictObject(
  { delta: integer('delta', L.adjustment).refine((n) => n !== 0, { error: 'delta must not be 0' }).meta({ override: { type: 'integer', not: { const: 0 } } }) },
  OBJECT('the request body'),
);
export const idempotencyKeySchema = text('Idempotency-Key header', L.idempotencyKeyLength);

const pageLimitError = { error: `limit must be an integer from 1 to ${L.listPageSize.max}` };
/** A page size as the query string carries it: decimal digits only (Number() would also read ' 5', '1e1' and '0x10'). */
export const pageLimitSchema = z
  .string()
  .regex(/^[0-9]+$/, pageLimitError)
  .transform(Number)
  .pipe(z.number().min(1, pageLimitError).max(L.listPageSize.max, pageLimitError))
  .default(L.listPageSize.default)
  .meta({
    // The document shows the number the digits stand for.
    override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
      delete jsonSchema.pattern;
      Object.assign(jsonSchema, { type: 'integer', minimum: 1, maximum: L.listPageSize.max });
    },
  });

// ---- What the API answers with ----

const timestamp = z.iso.datetime();
const count = z.int().min(0);

/** An order as the API shows it (orderView): bookkeeping fields stay inside. */
export const orderViewSchema = z.strictObject({
  orderId: orderIdSchema,
  customerId: customerIdSchema,
  status: z.enum(ORDER_STATUSES),
  items: z.array(orderLineSchema),
  createdAt: timestamp,
  updatedAt: timestamp,
  statusChangedAt: timestamp,
  paymentDeadline: timestamp.optional().meta({ description: 'Set when RESERVED: the order is cancelled if unpaid by then' }),
  paymentId: paymentIdSchema.optional(),
  rejection: z.strictObject({ reason: z.enum(REJECTION_REASONS), sku: skuSchema }).optional(),
  cancellation: z.strictObject({ reason: z.enum(CANCELLATION_REASONS) }).optional(),
  attention: z.strictObject({ reason: z.string() }).optional().meta({ description: 'Set when NEEDS_ATTENTION: why the sweep gave up on the order' }),
});
export type OrderView = z.output<typeof orderViewSchema>;

export const orderPageSchema = z.strictObject({
  items: z.array(orderViewSchema).meta({ description: 'Newest first' }),
  nextToken: z.string().optional().meta({ description: 'Absent on the last page; send it back as nextToken for the next one' }),
});

/** A SKU's stock: `initial + adjustments = available + reserved + sold`. */
export const stockLevelSchema = z.strictObject({
  sku: skuSchema,
  available: count,
  reserved: count.meta({ description: 'Held for RESERVED orders' }),
  sold: count.meta({ description: 'Taken by PAID orders' }),
});

/** `items[2].quantity` style pointers, as the problem+json body names them. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
}

/** Schema messages start with the field's own name (`quantity must be...`): say which one (`items[2].quantity must be...`). */
function withFullPath(message: string, path: readonly PropertyKey[], field: string): string {
  const leaf = path[path.length - 1];
  return typeof leaf === 'string' && message.startsWith(`${leaf} `) ? `${field}${message.slice(leaf.length)}` : message;
}

export function toProblems(error: z.ZodError, prefix = ''): Problem[] {
  return error.issues.map((issue) => {
    const field = fieldPath([...(prefix ? [prefix] : []), ...issue.path]) || prefix || '(body)';
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field(s): ${issue.keys.join(', ')}`
        : issue.code === 'invalid_type' && issue.input === undefined
          ? `${field} is required`
          : withFullPath(issue.message, issue.path, field);
    return { field, message };
  });
}
