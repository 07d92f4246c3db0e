/** Who is calling, as the API's authorizer established it. */
export type Caller =
  /** IAM-signed (the default authorizer): a trusted service, may act for any customer. */
  | { kind: 'service'; principal: string }
  /** JWT: a customer, known by the token subject; `scopes` may grant admin or payments rights. */
  | { kind: 'customer'; customerId: string; scopes: readonly string[] };

export const SCOPES = { admin: 'orders/admin', payments: 'orders/payments' } as const;

export function isAdmin(caller: Caller): boolean {
  return caller.kind === 'service' || caller.scopes.includes(SCOPES.admin);
}

export function canConfirmPayments(caller: Caller): boolean {
  return isAdmin(caller) || (caller.kind === 'customer' && caller.scopes.includes(SCOPES.payments));
}

/** Whether the caller may see and change this customer's orders. */
export function mayActFor(caller: Caller, customerId: string): boolean {
  return isAdmin(caller) || (caller.kind === 'customer' && caller.customerId === customerId);
}

/** Idempotency keys are scoped to the caller: two callers may use the same key for different orders. */
export function idempotencyScope(caller: Caller): string {
  return caller.kind === 'service' ? `service:${caller.principal}` : `customer:${caller.customerId}`;
}
