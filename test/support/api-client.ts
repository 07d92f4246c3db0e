/**
 * The end-to-end suites' HTTP client for the order API. Every answer is held to docs/openapi.json (api-contract.ts)
 * before the test sees it: an undocumented status, field or content type fails the request.
 *
 * `request` takes a concrete path (`/orders/ord_1`); `call` is the same client typed by the document (its types are
 * docs/openapi.d.ts, from `npm run openapi`): a documented path and method, the parameters and body the document
 * declares, and one answer per documented status, its body typed by the status.
 */
import type { paths } from '../../docs/openapi';
import { checkAnswer, operationOf } from './api-contract';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  contentType: string | null;
  /** Read loosely by the suites (already held to the document); `call` gives it its documented type. */
  body: any;
}

export async function request(base: string, method: string, route: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiAnswer> {
  const url = new URL(route.replace(/^\//, ''), base);
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  checkAnswer(operationOf(method, url.pathname) ?? `${method} ${url.pathname}`, { status: response.status, header: (name) => response.headers.get(name), body: text });
  return { status: response.status, headers: response.headers, contentType: response.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
}

type Method = 'get' | 'post' | 'put';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Parameters<O> = O extends { parameters: infer Q } ? Q : never;
type JsonBody<O> = O extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;

/** The answers an operation documents: narrowing on `status` types `body`. */
export type Answer<O> = O extends { responses: infer R } ? { [S in keyof R]: { status: S; body: R[S] extends { content: infer C } ? C[keyof C] : never } }[keyof R] : never;

export interface Call<O> {
  path?: Parameters<O> extends { path?: infer T } ? T : never;
  query?: Parameters<O> extends { query?: infer T } ? T : never;
  headers?: Parameters<O> extends { header?: infer T } ? T : never;
  body?: JsonBody<O>;
}

export async function call<P extends keyof paths, M extends Method>(base: string, method: M, path: P, init: Call<Operation<P, M>> = {}): Promise<Answer<Operation<P, M>>> {
  const values = (init.path ?? {}) as Record<string, string>;
  const query = new URLSearchParams(Object.entries((init.query ?? {}) as Record<string, unknown>).map(([name, value]): [string, string] => [name, String(value)]));
  const route = `${path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name]))}${query.size ? `?${query}` : ''}`;
  const answer = await request(base, method.toUpperCase(), route, { body: init.body, headers: init.headers as Record<string, string> | undefined });
  return { status: answer.status, body: answer.body } as Answer<Operation<P, M>>;
}
