/**
 * EventBridge event pattern matching, written from the AWS documentation ("Event patterns", "Content filtering",
 * "Comparison operators", "Arrays", "Null values and empty strings", TestEventPattern API reference).
 *
 * Semantics in one paragraph: a pattern mirrors the event's nesting. Fields of an object are ANDed; a leaf is an
 * array of alternatives (ORed): literals (string, number, boolean, null) or one-key operator objects. An event value
 * that is an array matches when any element does; an array of objects is matched element by element, so fields of
 * one sub-pattern must all hold within the same element. Only leaves (non-object values) are values: an object-valued
 * or empty-array field has no value, so `exists: false` matches it and everything else fails. `$or` (an array of 2+
 * sub-patterns) may appear at any level; each branch is ANDed with its siblings. Numbers compare numerically.
 *
 * validatePattern() checks shape and operator syntax up front (PutRule / TestEventPattern); matchesPattern() trusts it.
 */

export class InvalidEventPatternException extends Error {
  constructor(reason: string) {
    super(`Event pattern is not valid. Reason: ${reason}`);
    this.name = 'InvalidEventPatternException';
  }
}

export class ValidationException extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationException';
  }
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: Obj, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const fold = (s: string) => s.toLowerCase();
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

// ---------------------------------------------------------------------------------------------------------------------
// Matching

export function matchesPattern(pattern: object, event: object): boolean {
  return matchObject(pattern as Obj, event);
}

/** A sub-pattern against an event node: an object, or an array whose object elements are tried one by one. */
function matchObject(pattern: Obj, node: unknown): boolean {
  const objects = flattenArrays(node).filter(isObj);
  return (objects.length ? objects : [{}]).some((obj) => matchFields(pattern, obj));
}

function matchFields(pattern: Obj, obj: Obj): boolean {
  return Object.entries(pattern).every(([key, sub]) => {
    if (key === '$or') return Array.isArray(sub) && sub.some((branch) => isObj(branch) && matchFields(branch, obj));
    if (Array.isArray(sub)) return matchLeaf(sub, leaves(own(obj, key)));
    return isObj(sub) && matchObject(sub, own(obj, key));
  });
}

function flattenArrays(v: unknown): unknown[] {
  return Array.isArray(v) ? v.flatMap(flattenArrays) : [v];
}

/** The field's values: scalars and null, with arrays flattened; objects and absent fields contribute none. */
function leaves(v: unknown): unknown[] {
  return flattenArrays(v).filter((x) => x !== undefined && !isObj(x));
}

function matchLeaf(alternatives: unknown[], values: unknown[]): boolean {
  return alternatives.some((alt) => {
    if (!isObj(alt)) return values.some((v) => sameValue(alt, v));
    if ('exists' in alt) return alt.exists === true ? values.length > 0 : values.length === 0;
    return values.some((v) => matchOperator(alt, v));
  });
}

/** Literal equality: numbers numerically (300 == 3.0e2), everything else strictly (so "300" != 300, "" != null). */
function sameValue(expected: unknown, actual: unknown): boolean {
  return expected === actual;
}

function matchOperator(op: Obj, v: unknown): boolean {
  const [name, arg] = Object.entries(op)[0] ?? [];
  switch (name) {
    case 'prefix':
      return typeof v === 'string' && affix(arg, v, (s, p) => s.startsWith(p));
    case 'suffix':
      return typeof v === 'string' && affix(arg, v, (s, p) => s.endsWith(p));
    case 'equals-ignore-case':
      return typeof v === 'string' && typeof arg === 'string' && fold(v) === fold(arg);
    case 'wildcard':
      return typeof v === 'string' && typeof arg === 'string' && wildcardMatches(arg, v);
    case 'numeric':
      return isNum(v) && Array.isArray(arg) && numericMatches(arg, v);
    case 'cidr':
      return typeof v === 'string' && typeof arg === 'string' && cidrMatches(arg, v);
    case 'anything-but':
      return !excludedBy(arg, v);
    default:
      return false;
  }
}

/** prefix/suffix argument: a string, or { "equals-ignore-case": string }. */
function affix(arg: unknown, v: string, test: (s: string, p: string) => boolean): boolean {
  if (typeof arg === 'string') return test(v, arg);
  const ic = isObj(arg) ? own(arg, 'equals-ignore-case') : undefined;
  return typeof ic === 'string' && test(fold(v), fold(ic));
}

/** anything-but: a value, a list of values, or { prefix | suffix | equals-ignore-case | wildcard: string | string[] }. */
function excludedBy(arg: unknown, v: unknown): boolean {
  if (!isObj(arg)) return asList(arg).some((x) => sameValue(x, v));
  if (typeof v !== 'string') return false; // string-only operators never exclude numbers, booleans or null
  const [name, inner] = Object.entries(arg)[0] ?? [];
  const list = asList(inner).filter((x): x is string => typeof x === 'string');
  switch (name) {
    case 'prefix':
      return list.some((p) => v.startsWith(p));
    case 'suffix':
      return list.some((p) => v.endsWith(p));
    case 'equals-ignore-case':
      return list.some((p) => fold(p) === fold(v));
    case 'wildcard':
      return list.some((p) => wildcardMatches(p, v));
    default:
      return false;
  }
}

/** numeric: ["=", n] | ["<"|"<="|">"|">=", n] | [">"|">=", a, "<"|"<=", b] (shape checked by validatePattern). */
function numericMatches(terms: unknown[], v: number): boolean {
  for (let i = 0; i + 1 < terms.length; i += 2) {
    const bound = terms[i + 1] as number;
    const ok = { '=': v === bound, '<': v < bound, '<=': v <= bound, '>': v > bound, '>=': v >= bound }[terms[i] as string];
    if (!ok) return false;
  }
  return true;
}

/** Splits a wildcard pattern on its unescaped `*` into literal segments (`\*` is a literal star, `\\` a backslash). */
function wildcardSegments(pattern: string): string[] {
  const segments = [''];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '\\')) segments[segments.length - 1] += pattern[++i];
    else if (c === '*') segments.push('');
    else segments[segments.length - 1] += c;
  }
  return segments;
}

/** `*` matches any run of characters, including none. Greedy leftmost search: linear, no backtracking blow-up. */
function wildcardMatches(pattern: string, value: string): boolean {
  const parts = wildcardSegments(pattern);
  if (parts.length === 1) return value === parts[0];
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  const end = value.length - last.length;
  let pos = first.length;
  for (const mid of parts.slice(1, -1)) {
    const at = value.indexOf(mid, pos);
    if (at < 0 || at + mid.length > end) return false;
    pos = at + mid.length;
  }
  return true;
}

// IP addresses ----------------------------------------------------------------------------------------------------------

function parseIPv4(s: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  const bytes = m?.slice(1).map(Number);
  return bytes && bytes.every((b) => b <= 255) ? bytes : undefined;
}

function parseIPv6(s: string): number[] | undefined {
  let text = s;
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text); // embedded IPv4 tail, e.g. ::ffff:10.0.0.1
  if (v4) {
    const b = parseIPv4(v4[2]);
    if (!b) return undefined;
    text = `${v4[1]}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

const parseIp = (s: string): number[] | undefined => (s.includes(':') ? parseIPv6(s) : parseIPv4(s));

interface Cidr {
  bytes: number[];
  bits: number;
}

/** Parses "address/bits"; returns the reason it is invalid as a string. */
function parseCidr(cidr: string): Cidr | string {
  const parts = cidr.split('/');
  if (parts.length !== 2) return "Malformed CIDR, one '/' required";
  if (!/^\d+$/.test(parts[1])) return 'Malformed CIDR, mask bits must be an integer';
  const bytes = parseIp(parts[0]);
  if (!bytes) return `Nonstandard IP address: ${parts[0]}`;
  const bits = Number(parts[1]);
  if (bits > bytes.length * 8) return `IPv${bytes.length === 4 ? 4 : 6} mask bits must be at most ${bytes.length * 8}`;
  return { bytes, bits };
}

const cidrCache = new Map<string, Cidr | string>();

function cidrMatches(cidr: string, address: string): boolean {
  if (!cidrCache.has(cidr)) cidrCache.set(cidr, parseCidr(cidr));
  const net = cidrCache.get(cidr);
  const ip = parseIp(address);
  if (typeof net !== 'object' || !ip || ip.length !== net.bytes.length) return false;
  for (let bit = 0; bit < net.bits; bit++) {
    const mask = 0x80 >> bit % 8;
    if ((ip[bit >> 3] & mask) !== (net.bytes[bit >> 3] & mask)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------------
// Validation (messages follow the service's wording where it is known)

const NUMERIC_LIMIT = 5e9; // documented range of numeric matching: -5.0e9 .. +5.0e9 inclusive
const STRING_OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'];
/** Operator names may not be used as field names inside $or (the service cannot tell them apart there). */
const RESERVED_IN_OR = new Set([...STRING_OPERATORS, 'anything-but', 'numeric', 'cidr', 'exists', 'exactly', '=', '<', '<=', '>', '>=']);

const fail = (reason: string): never => {
  throw new InvalidEventPatternException(reason);
};

export function validatePattern(pattern: unknown): void {
  if (!isObj(pattern)) fail('Filter is not an object');
  validateObject(pattern as Obj, false);
}

function validateObject(obj: Obj, insideOr: boolean): void {
  const entries = Object.entries(obj);
  if (entries.length === 0) fail('Empty objects are not allowed');
  for (const [key, value] of entries) {
    if (key === '$or') {
      validateOr(value);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) fail(`${key} is a reserved operator name and cannot be used as a field name inside $or`);
    if (Array.isArray(value)) validateLeaf(value);
    else if (isObj(value)) validateObject(value, insideOr);
    else fail(`"${key}" must be an object or an array`);
  }
}

function validateOr(value: unknown): void {
  if (!Array.isArray(value)) fail('It must be an Array followed with $or.');
  const branches = value as unknown[];
  if (!branches.every(isObj)) fail('Only JSON object is allowed in array of $or relationship.');
  if (branches.length < 2) fail('There must have at least 2 Objects in $or relationship.');
  for (const branch of branches) validateObject(branch as Obj, true);
}

function validateLeaf(values: unknown[]): void {
  if (values.length === 0) fail('Empty arrays are not allowed');
  for (const v of values) {
    if (isObj(v)) validateOperator(v);
    else if (Array.isArray(v) || (typeof v === 'number' && !Number.isFinite(v))) fail('Match value must be String, number, true, false, or null');
  }
}

function validateOperator(op: Obj): void {
  const entries = Object.entries(op);
  if (entries.length === 0) fail('Match expression name not found');
  if (entries.length > 1) fail(`Only one key allowed in match expression, found: ${entries.map(([k]) => k).join(', ')}`);
  const [name, arg] = entries[0];
  switch (name) {
    case 'prefix':
    case 'suffix': {
      const ic = isObj(arg) && Object.keys(arg).length === 1 ? own(arg, 'equals-ignore-case') : undefined;
      if (typeof arg !== 'string' && typeof ic !== 'string') fail(`${name} match pattern must be a string (or {"equals-ignore-case": string})`);
      return;
    }
    case 'equals-ignore-case':
      if (typeof arg !== 'string') fail('equals-ignore-case match pattern must be a string');
      return;
    case 'wildcard':
      if (typeof arg !== 'string') fail('wildcard match pattern must be a string');
      validateWildcard(arg as string);
      return;
    case 'exists':
      if (typeof arg !== 'boolean') fail('exists match pattern must be either true or false.');
      return;
    case 'numeric':
      validateNumeric(arg);
      return;
    case 'cidr': {
      if (typeof arg !== 'string') fail('cidr match pattern must be a string');
      const parsed = parseCidr(arg as string);
      if (typeof parsed === 'string') fail(parsed);
      return;
    }
    case 'anything-but':
      validateAnythingBut(arg);
      return;
    default:
      fail(`Unrecognized match type ${name}`);
  }
}

function validateWildcard(pattern: string): void {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '*' && pattern[i + 1] === '*') fail(`Consecutive wildcard characters at pos ${i}`);
    if (pattern[i] === '\\') {
      if (pattern[i + 1] !== '*' && pattern[i + 1] !== '\\') fail(`Invalid escape character at pos ${i}`);
      i++;
    }
  }
}

function checkNumber(v: unknown, what: string): number {
  if (!isNum(v)) fail(`Value of ${what} must be numeric`);
  if (Math.abs(v as number) > NUMERIC_LIMIT) fail(`Value must be between -5.0E9 and 5.0E9, inclusive (got ${v as number})`);
  return v as number;
}

function validateNumeric(terms: unknown): void {
  if (!Array.isArray(terms)) fail('Value of numeric must be an array.');
  const [op, value, op2, value2, ...rest] = terms as unknown[];
  const length = (terms as unknown[]).length;
  if (typeof op !== 'string') fail(`Invalid member in numeric match: ${JSON.stringify(op)}`);
  if (op === '=' || op === '<' || op === '<=') {
    checkNumber(value, op);
    if (length > 2) fail('Too many elements in numeric expression');
  } else if (op === '>' || op === '>=') {
    const bottom = checkNumber(value, op);
    if (length === 2) return;
    if (op2 !== '<' && op2 !== '<=') fail(`Bad numeric range operator: ${String(op2)}`);
    const top = checkNumber(value2, op2 as string);
    if (rest.length) fail('Too many terms in numeric range expression');
    if (bottom >= top) fail('Bottom must be less than top');
  } else {
    fail(`Unrecognized numeric range operator: ${op as string}`);
  }
}

function validateAnythingBut(arg: unknown): void {
  if (typeof arg === 'string') return;
  if (typeof arg === 'number') {
    checkNumber(arg, 'anything-but');
    return;
  }
  if (Array.isArray(arg)) {
    if (arg.some((x) => typeof x !== 'string' && typeof x !== 'number')) fail('Inside anything but list, start|null|boolean is not supported.');
    const strings = arg.filter((x) => typeof x === 'string').length;
    if (arg.length === 0 || (strings > 0 && strings < arg.length)) {
      fail('Inside anything but list, either all values are number or string, mixed type is not supported');
    }
    arg.forEach((x) => typeof x === 'number' && checkNumber(x, 'anything-but'));
    return;
  }
  if (!isObj(arg)) fail('Value of anything-but must be an array or single string/number value.');
  const entries = Object.entries(arg as Obj);
  if (entries.length !== 1) fail('anything-but expects exactly one of prefix, suffix, equals-ignore-case, wildcard');
  const [name, inner] = entries[0];
  if (!STRING_OPERATORS.includes(name)) fail(`Unsupported anything-but pattern: ${name}`);
  if (isObj(inner)) fail('Value of anything-but must be an array or single string/number value.');
  const list = asList(inner as unknown);
  if (list.length === 0 || !list.every((x) => typeof x === 'string')) {
    fail(name === 'equals-ignore-case'
      ? 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.'
      : `${name === 'wildcard' ? 'wildcard' : 'prefix/suffix'} match pattern must be a string`);
  }
  if ((name === 'prefix' || name === 'suffix') && list.includes('')) fail('Null prefix/suffix not allowed');
  if (name === 'wildcard') (list as string[]).forEach(validateWildcard);
}

// ---------------------------------------------------------------------------------------------------------------------
// TestEventPattern

/** The envelope fields TestEventPattern insists on. The API reference also lists `resources`; the service does not
 *  enforce it (AWS-recorded behaviour), so neither do we. */
const REQUIRED_EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'detail-type'];

export function testEventPattern(pattern: string, event: string): boolean {
  let parsedPattern: unknown;
  try {
    parsedPattern = JSON.parse(pattern);
  } catch (error) {
    throw new InvalidEventPatternException(`Filter is not valid JSON (${(error as Error).message})`);
  }
  validatePattern(parsedPattern);
  let parsedEvent: unknown;
  try {
    parsedEvent = JSON.parse(event);
  } catch {
    throw new ValidationException('Parameter Event is not valid.');
  }
  if (!isObj(parsedEvent) || !REQUIRED_EVENT_FIELDS.every((k) => own(parsedEvent as Obj, k) !== undefined)) {
    throw new ValidationException('Parameter Event is not valid.');
  }
  return matchesPattern(parsedPattern as Obj, parsedEvent);
}
