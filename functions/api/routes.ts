/**
 * The HTTP API's routes: the stack creates one API Gateway route per entry (with its authorization), and the
 * API function dispatches on the same route keys.
 */
import { SCOPES } from '../domain/caller';

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  /** With a JWT authorizer: a token needs one of these scopes (none listed: any valid customer token). */
  scopes: readonly string[];
}

export const ROUTES = {
  placeOrder: { method: 'POST', path: '/orders', scopes: [] },
  listOrders: { method: 'GET', path: '/orders', scopes: [] },
  getOrder: { method: 'GET', path: '/orders/{orderId}', scopes: [] },
  cancelOrder: { method: 'POST', path: '/orders/{orderId}/cancel', scopes: [] },
  confirmPayment: { method: 'POST', path: '/orders/{orderId}/payment', scopes: [SCOPES.payments, SCOPES.admin] },
  setStock: { method: 'PUT', path: '/inventory/{sku}', scopes: [SCOPES.admin] },
  getStock: { method: 'GET', path: '/inventory/{sku}', scopes: [SCOPES.admin] },
  adjustStock: { method: 'POST', path: '/inventory/{sku}/adjustments', scopes: [SCOPES.admin] },
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;

/** API Gateway's route key, e.g. `POST /orders/{orderId}/cancel`. */
export function routeKey(route: RouteSpec): string {
  return `${route.method} ${route.path}`;
}
