/**
 * Holds the API's answers to its OpenAPI document, docs/openapi.json (the file the API serves; test/lib/openapi.test.ts
 * holds it to the code): an answer's status must be one its operation documents, its body must match the schema of
 * its content type (with ajv: the document's objects admit no field they do not name), and the headers the document
 * requires must be there and match theirs. Every answer checked is counted by operation and status, and every
 * violation kept, so a suite can show what it checked and fail on a violation a retry loop swallowed.
 */
import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import document from '../../docs/openapi.json';

export interface Answer {
  status: number;
  /** A response header, whatever the case of its name (undefined or null: absent). */
  header(name: string): string | undefined | null;
  body: string;
}

interface MediaType {
  schema: object;
}
interface HeaderObject {
  required?: boolean;
  schema: object;
}
interface ResponseObject {
  content?: Record<string, MediaType>;
  headers?: Record<string, HeaderObject | { $ref: string }>;
}
type Ref = { $ref: string };
type Operation = { responses: Record<string, ResponseObject | Ref> };

const DOCUMENT_ID = 'https://order-pipeline.invalid/openapi.json';
// Not strict: the document itself (openapi, info, paths) is no JSON Schema, only the schemas it holds are.
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema({ ...document, $id: DOCUMENT_ID });

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const paths = document.paths as unknown as Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;

/** Every operation of the document, as API Gateway route keys (`GET /orders/{orderId}`). */
export const DOCUMENTED_OPERATIONS: string[] = Object.entries(paths).flatMap(([path, item]) =>
  METHODS.filter((method) => item[method]).map((method) => `${method.toUpperCase()} ${path}`),
);

const TEMPLATES = DOCUMENTED_OPERATIONS.map((key) => {
  const [method, path] = key.split(' ');
  return { key, method, pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`) };
});

/** The documented operation a request goes to (`GET`, `/orders/ord_1?limit=2`: `GET /orders/{orderId}`). */
export function operationOf(method: string, url: string): string | undefined {
  const path = new URL(url, 'http://host').pathname;
  return TEMPLATES.find((t) => t.method === method.toUpperCase() && t.pattern.test(path))?.key;
}

/** A JSON pointer as a URI fragment: `~` and `/` escaped, then percent-encoded (`{orderId}`). */
const pointer = (...parts: string[]) => parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

function resolve<T>(value: T | Ref): { value: T; at: string | undefined } {
  if (value && typeof value === 'object' && '$ref' in value) {
    const at = value.$ref.replace(/^#/, '');
    const found = at
      .split('/')
      .slice(1)
      .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')], document);
    return { value: found as T, at };
  }
  return { value: value as T, at: undefined };
}

/** ajv's errors, naming the field a document does not know (`body/extra must NOT have additional properties: extra`). */
function errorsOf(validate: ValidateFunction, what: string): string {
  return (validate.errors ?? [])
    .map((e) => `${what}${e.instancePath} ${e.message}${e.keyword === 'additionalProperties' ? `: ${String(e.params.additionalProperty)}` : ''}`)
    .join('; ');
}

const validators = new Map<string, ValidateFunction>();
function validatorAt(at: string): ValidateFunction {
  let validate = validators.get(at);
  if (!validate) validators.set(at, (validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${at}` })));
  return validate;
}

const counts = new Map<string, Map<number, number>>();
/** What failed the document, for the suite's last word (a retry loop may have swallowed the throw). */
export const violations: string[] = [];

/** The problems with one answer, against the document: none means it is one the document describes. */
export function problemsWith(operation: string, answer: Answer): string[] {
  const [method, path] = operation.split(' ');
  const spec = paths[path]?.[method.toLowerCase() as (typeof METHODS)[number]];
  if (!spec) return [`${operation} is not an operation of docs/openapi.json`];
  const listed = spec.responses[String(answer.status)];
  if (!listed) return [`status ${answer.status} is not documented for ${operation} (documented: ${Object.keys(spec.responses).join(', ')})`];
  const { value: response, at: responseAt } = resolve(listed);
  const base = responseAt ?? pointer('', 'paths', path, method.toLowerCase(), 'responses', String(answer.status));
  const problems: string[] = [];

  for (const [name, declared] of Object.entries(response.headers ?? {})) {
    const { value: header, at: headerAt } = resolve(declared);
    const value = answer.header(name);
    if (value === undefined || value === null) {
      if (header.required) problems.push(`header ${name} is required on ${answer.status}, and missing`);
      continue;
    }
    const validate = validatorAt(`${headerAt ?? `${base}/headers/${pointer(name)}`}/schema`);
    if (!validate(value)) problems.push(`${errorsOf(validate, `header ${name}`)} (${JSON.stringify(value)})`);
  }

  const contentType = answer.header('content-type')?.split(';')[0].trim().toLowerCase();
  const content = response.content ?? {};
  if (!contentType || !content[contentType]) {
    problems.push(`content-type ${contentType ?? '(none)'} is not documented for ${answer.status} (documented: ${Object.keys(content).join(', ') || 'no body'})`);
    return problems;
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return [...problems, `the body is not JSON: ${answer.body.slice(0, 200)}`];
  }
  const validate = validatorAt(`${base}/content/${pointer(contentType)}/schema`);
  if (!validate(body)) {
    problems.push(`${errorsOf(validate, 'body')} (${JSON.stringify(body).slice(0, 300)})`);
  }
  return problems;
}

/** Holds an answer to the document: counted, and thrown (and kept) when the document does not describe it. */
export function checkAnswer(operation: string, answer: Answer): void {
  const problems = problemsWith(operation, answer);
  const byStatus = counts.get(operation) ?? new Map<number, number>();
  byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
  counts.set(operation, byStatus);
  if (problems.length) {
    const message = `${operation} answered ${answer.status}, which docs/openapi.json does not describe:\n  ${problems.join('\n  ')}`;
    violations.push(message);
    throw new Error(message);
  }
}

/** Answers checked so far, by operation and status. */
export function checkedAnswers(): Record<string, Record<number, number>> {
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)).map(([op, byStatus]) => [op, Object.fromEntries([...byStatus].sort(([a], [b]) => a - b))]));
}

/** One line for a suite's output: how many answers were held to the document, by operation and status. */
export function checkedSummary(suite: string): string {
  const all = checkedAnswers();
  const total = Object.values(all).reduce((sum, byStatus) => sum + Object.values(byStatus).reduce((a, b) => a + b, 0), 0);
  return `${suite}: ${total} responses validated against docs/openapi.json (${violations.length} violations) ${JSON.stringify(all)}`;
}
