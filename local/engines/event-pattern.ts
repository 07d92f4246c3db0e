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
 * Compilation, as EventBridge's own matcher (aws/event-ruler, JsonRuleCompiler) does it: a pattern is read from its JSON
 * text in document order and compiled into sub-rules (one per `$or` branch combination), each a map from a field's
 * path, its names joined with dots, to its alternatives. So, as "Considerations when creating event patterns"
 * (eb-create-pattern.html) says: a dot in a key is a path (`{"detail": {"state.status": [..]}}` and
 * `{"detail": {"state": {"status": [..]}}}` are one pattern, and either matches an event spelling the field either
 * way), and "if multiple patterns are specified for the same JSON field, EventBridge only uses the last one": a field
 * given twice (a duplicate key in the text, or one path spelled nested and dotted) keeps its last alternatives, while
 * two objects under a duplicate key both contribute their fields (the text is read in order, not as a JS object).
 * Wildcards are held to the service's complexity limit (wildcardComplexity below).
 *
 * compilePattern() / validatePattern() check shape and operator syntax up front (PutRule / TestEventPattern);
 * matchesPattern() compiles (and caches) an object pattern it is given.
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
/** Sets an own property whatever its name (`__proto__` included). */
const put = (o: Obj, k: string, v: unknown) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

// ---------------------------------------------------------------------------------------------------------------------
// Matching

/** A compiled pattern: its sub-rules (any may match), each a tree of field names with a leaf's alternatives. */
export interface CompiledPattern {
  readonly compiled: true;
  readonly rules: FieldNode[];
}

/** One level of a sub-rule: the fields below it, each with alternatives (a leaf) and/or fields of its own. */
interface FieldNode {
  leaf?: unknown[];
  fields: Map<string, FieldNode>;
}

const compiledObjects = new WeakMap<object, CompiledPattern>();

const isCompiled = (p: object): p is CompiledPattern => (p as { compiled?: unknown }).compiled === true && Array.isArray((p as { rules?: unknown }).rules);

export function matchesPattern(pattern: object | CompiledPattern, event: object): boolean {
  let compiled: CompiledPattern;
  if (isCompiled(pattern)) compiled = pattern;
  else {
    compiled = compiledObjects.get(pattern) ?? compilePattern(pattern);
    compiledObjects.set(pattern, compiled);
  }
  const expanded = expandDottedKeys(event);
  return compiled.rules.some((rule) => matchFields(rule, expanded as Obj));
}

/**
 * The event with every dotted key split into nested objects (`{"state.status": "x"}` is `{"state": {"status": "x"}}`),
 * since EventBridge joins an event's field names with dots as it does a pattern's. A field reached both ways keeps
 * both values (like an array of them); objects reached both ways are merged.
 */
function expandDottedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.some(hasDottedKey) ? v.map(expandDottedKeys) : v;
  if (!isObj(v) || !hasDottedKey(v)) return v;
  const out: Obj = {};
  for (const [key, value] of Object.entries(v)) {
    const names = key.split('.');
    let nested = expandDottedKeys(value);
    for (const name of names.slice(1).reverse()) nested = { [name]: nested };
    put(out, names[0], own(out, names[0]) === undefined ? nested : combine(out[names[0]], nested));
  }
  return out;
}

function hasDottedKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasDottedKey);
  return isObj(v) && Object.entries(v).some(([k, x]) => k.includes('.') || hasDottedKey(x));
}

function combine(a: unknown, b: unknown): unknown {
  if (isObj(a) && isObj(b)) {
    const out: Obj = { ...a };
    for (const [k, x] of Object.entries(b)) put(out, k, own(out, k) === undefined ? x : combine(out[k], x));
    return out;
  }
  return [...asList(a), ...asList(b)];
}

/** A field node against an event node: an object, or an array whose object elements are tried one by one. */
function matchObject(node: FieldNode, value: unknown): boolean {
  const objects = flattenArrays(value).filter(isObj);
  return (objects.length ? objects : [{}]).some((obj) => matchFields(node, obj));
}

function matchFields(node: FieldNode, obj: Obj): boolean {
  for (const [key, sub] of node.fields) {
    const value = own(obj, key);
    if (sub.leaf && !matchLeaf(sub.leaf, leaves(value))) return false;
    if (sub.fields.size && !matchObject(sub, value)) return false;
  }
  return true;
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

/** Checks a pattern value (a parsed pattern, as a template holds it) as PutRule does; throws InvalidEventPatternException. */
export function validatePattern(pattern: unknown): void {
  compileRoot(fromValue(pattern));
}

/**
 * Compiles a pattern, given as its JSON text (read with duplicate keys kept, in order: what PutRule and
 * TestEventPattern receive) or as a parsed object, into its sub-rules; throws InvalidEventPatternException for any
 * pattern the service refuses.
 */
export function compilePattern(pattern: string | object): CompiledPattern {
  return compileRoot(typeof pattern === 'string' ? parsePatternText(pattern) : fromValue(pattern));
}

function compileRoot(root: JsonNode): CompiledPattern {
  if (!(root instanceof JsonObject)) fail('Filter is not an object');
  const rules: SubRule[] = [];
  compileObject(rules, '', root as JsonObject, false);
  checkWildcardComplexity(rules);
  return { compiled: true, rules: rules.map(toFieldTree) };
}

/** A sub-rule: each field's dotted path and its alternatives, in the order they were (last) written. */
type SubRule = Map<string, unknown[]>;

/** The pattern's text as parsed: objects keep every key, duplicates included, in document order. */
type JsonNode = null | boolean | number | string | JsonNode[] | JsonObject;

class JsonObject {
  constructor(readonly entries: [string, JsonNode][]) {}
}

function fromValue(v: unknown): JsonNode {
  if (Array.isArray(v)) return v.map(fromValue);
  if (isObj(v)) return new JsonObject(Object.entries(v).map(([k, x]) => [k, fromValue(x)]));
  return v as JsonNode;
}

/** A leaf's alternatives as plain values; a match expression naming one key twice is refused as the service does. */
function toPlain(node: JsonNode): unknown {
  if (Array.isArray(node)) return node.map(toPlain);
  if (!(node instanceof JsonObject)) return node;
  const out: Obj = {};
  for (const [k, v] of node.entries) {
    if (own(out, k) !== undefined) fail(`Only one key allowed in match expression, found: ${k}, ${k}`);
    put(out, k, toPlain(v));
  }
  return out;
}

/** JsonRuleCompiler.parseObject: fields in order, nested objects extend the path, `$or` multiplies the sub-rules. */
function compileObject(rules: SubRule[], path: string, obj: JsonObject, insideOr: boolean): void {
  if (obj.entries.length === 0) fail('Empty objects are not allowed');
  for (const [key, value] of obj.entries) {
    if (key === '$or') {
      compileOr(rules, path, value);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) fail(`${key} is a reserved operator name and cannot be used as a field name inside $or`);
    const fieldPath = path ? `${path}.${key}` : key;
    if (value instanceof JsonObject) compileObject(rules, fieldPath, value, insideOr);
    else if (Array.isArray(value)) {
      const alternatives = toPlain(value) as unknown[];
      validateLeaf(alternatives);
      if (rules.length === 0) rules.push(new Map());
      // "If multiple patterns are specified for the same JSON field, EventBridge only uses the last one."
      for (const rule of rules) {
        rule.delete(fieldPath);
        rule.set(fieldPath, alternatives);
      }
    } else fail(`"${key}" must be an object or an array`);
  }
}

function compileOr(rules: SubRule[], path: string, value: JsonNode): void {
  if (!Array.isArray(value)) fail('It must be an Array followed with $or.');
  const before = rules.splice(0, rules.length);
  let branches = 0;
  for (const branch of value as JsonNode[]) {
    branches++;
    if (!(branch instanceof JsonObject)) fail('Only JSON object is allowed in array of $or relationship.');
    const copies = before.length ? before.map((r) => new Map(r)) : [new Map<string, unknown[]>()];
    compileObject(copies, path, branch as JsonObject, true);
    rules.push(...copies);
  }
  if (branches < 2) fail('There must have at least 2 Objects in $or relationship.');
}

/** A sub-rule's paths as a tree of names (split on dots, as event field names are). */
function toFieldTree(rule: SubRule): FieldNode {
  const root: FieldNode = { fields: new Map() };
  for (const [fieldPath, alternatives] of rule) {
    let node = root;
    for (const name of fieldPath.split('.')) {
      let next = node.fields.get(name);
      if (!next) node.fields.set(name, (next = { fields: new Map() }));
      node = next;
    }
    node.leaf = alternatives;
  }
  return root;
}

// Pattern text ---------------------------------------------------------------------------------------------------------

/** RFC 8259 JSON, objects read as entry lists (JSON.parse would keep only the last of two equal keys). */
function parsePatternText(text: string): JsonNode {
  let i = 0;
  const bad = (what: string): never => fail(`Filter is not valid JSON (${what} at position ${i})`);
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const stringAt = (): string => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
    if (!m) return bad('bad string');
    i += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  const value = (depth: number): JsonNode => {
    if (depth > 256) bad('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, JsonNode][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return new JsonObject(entries);
      }
      for (;;) {
        ws();
        if (text[i] !== '"') bad('expected a field name');
        const key = stringAt();
        ws();
        if (text[i++] !== ':') bad("expected ':'");
        entries.push([key, value(depth + 1)]);
        ws();
        const sep = text[i++];
        if (sep === '}') return new JsonObject(entries);
        if (sep !== ',') bad("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        const sep = text[i++];
        if (sep === ']') return items;
        if (sep !== ',') bad("expected ',' or ']'");
      }
    }
    if (c === '"') return stringAt();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (!literal) return bad('unexpected character');
    i += literal[0].length;
    return JSON.parse(literal[0]) as JsonNode;
  };
  const root = value(0);
  ws();
  if (i < text.length) bad('unexpected text after the pattern');
  return root;
}

// Wildcard complexity ------------------------------------------------------------------------------------------------

/**
 * "There is a limit to how complex a rule using wildcards can be. If a rule is too complex, EventBridge returns an
 * InvalidEventPatternException" (eb-create-pattern-operators.html, "Wildcards and event pattern complexity"); the
 * guidance is fewer wildcard characters and fewer repeated sequences after one. The measure is event-ruler's
 * MachineComplexityEvaluator: the most wildcard-pattern prefixes one input value can match at once, per field
 * (with the quotes the service puts around a string, `"*:*"` matched against `":"` is in `"*`, `"*:` and `"*:*`).
 * The limit is not published; 10 fits what AWS has been recorded answering: four `*.ext` patterns on one field (8)
 * and three `*:stack/<name>/*` (9) are accepted, four of those (12), four `*` + `/datasync/*.ext` (16) and the guide's
 * `*:*:*:*:*:event-bus/*` (11) are refused.
 */
export const MAX_WILDCARD_COMPLEXITY = 10;
const TOO_COMPLEX = 'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character';

function checkWildcardComplexity(rules: SubRule[]): void {
  // Sub-rules with the same fields before a field (in name order, as the service's machine has them) share that
  // field's matcher: their wildcards on it count together.
  const groups = new Map<string, Set<string>>();
  for (const rule of rules) {
    const paths = [...rule.keys()].sort();
    paths.forEach((fieldPath, index) => {
      const wildcards = rule.get(fieldPath)!.flatMap(wildcardsOf);
      if (wildcards.length === 0) return;
      const key = JSON.stringify(paths.slice(0, index).map((p) => [p, rule.get(p)])) + '\u0000' + fieldPath;
      const group = groups.get(key) ?? new Set<string>();
      wildcards.forEach((w) => group.add(w));
      groups.set(key, group);
    });
  }
  for (const group of groups.values()) {
    if (wildcardComplexity([...group], MAX_WILDCARD_COMPLEXITY) > MAX_WILDCARD_COMPLEXITY) fail(TOO_COMPLEX);
  }
}

function wildcardsOf(alternative: unknown): string[] {
  if (!isObj(alternative)) return [];
  const wildcard = own(alternative, 'wildcard');
  if (typeof wildcard === 'string') return [wildcard];
  const but = own(alternative, 'anything-but');
  const inner = isObj(but) ? own(but, 'wildcard') : undefined;
  return inner === undefined ? [] : asList(inner).filter((x): x is string => typeof x === 'string');
}

const ANY_BYTE = -1;

/** A wildcard pattern as its service form: the quoted string's UTF-8 bytes, ANY_BYTE for each unescaped `*`. */
function wildcardTokens(pattern: string): number[] {
  const tokens = [0x22];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') tokens.push(ANY_BYTE);
    else {
      const literal = c === '\\' ? pattern[++i] : c;
      // a surrogate pair is one character: encode both halves together
      const code = literal.codePointAt(0)!;
      const char = code > 0xffff ? String.fromCodePoint(code) : literal;
      if (code > 0xffff) i++;
      tokens.push(...Buffer.from(char, 'utf8'));
    }
  }
  tokens.push(0x22);
  return tokens;
}

/**
 * The most wildcard-pattern prefixes one input matches at once: the patterns run as one NFA (a state is a pattern and
 * how many of its tokens are consumed; a `*` may match nothing, so reaching the token before it reaches it too), every
 * set of states an input can reach is visited (bytes that no pattern names behave alike), and the largest set counts.
 * Stops as soon as a set exceeds `cap`.
 */
export function wildcardComplexity(patterns: string[], cap = Infinity): number {
  const tokens = [...new Set(patterns)].map(wildcardTokens);
  const bytes = new Set<number>([256]);
  for (const t of tokens) for (const b of t) if (b !== ANY_BYTE) bytes.add(b);
  const id = (p: number, k: number) => `${p}:${k}`;
  /** Adds (p, k) and, when the next token is a `*`, the star state too (it may match nothing). */
  const add = (set: Map<string, [number, number]>, p: number, k: number) => {
    set.set(id(p, k), [p, k]);
    if (tokens[p][k + 1] === ANY_BYTE) set.set(id(p, k + 1), [p, k + 1]);
  };
  const step = (states: Map<string, [number, number]>, b: number) => {
    const next = new Map<string, [number, number]>();
    for (const [p, k] of states.values()) {
      const t = tokens[p];
      if (t[k] === ANY_BYTE) add(next, p, k);
      if (k + 1 < t.length && t[k + 1] === b) add(next, p, k + 1);
    }
    return next;
  };
  // Every pattern starts with the opening quote: the first byte of any input that can match is that quote.
  const start = new Map<string, [number, number]>();
  tokens.forEach((_t, p) => add(start, p, 0));
  let max = 0;
  const seen = new Set<string>();
  const pending = [start];
  while (pending.length && seen.size < 100_000) {
    const states = pending.pop()!;
    const key = [...states.keys()].sort().join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    max = Math.max(max, states.size);
    if (max > cap) return max;
    for (const b of bytes) {
      const next = step(states, b);
      if (next.size) pending.push(next);
    }
  }
  return max;
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
  const compiled = compilePattern(pattern);
  let parsedEvent: unknown;
  try {
    parsedEvent = JSON.parse(event);
  } catch {
    throw new ValidationException('Parameter Event is not valid.');
  }
  if (!isObj(parsedEvent) || !REQUIRED_EVENT_FIELDS.every((k) => own(parsedEvent as Obj, k) !== undefined)) {
    throw new ValidationException('Parameter Event is not valid.');
  }
  return matchesPattern(compiled, parsedEvent);
}
