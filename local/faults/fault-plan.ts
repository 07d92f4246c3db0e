/**
 * A fault plan: what `npm start -- --faults FILE` reads (JSON or YAML) and what `startRuntime({ faults })` takes.
 *
 *   seed: 7                       # same seed, same calls -> same faults
 *   rate: 0.05                    # every kind at 5% unless a rule matches first (default 0: nothing)
 *   rules:                        # the first rule that matches a call decides its rate
 *     - kind: lambda.crash        # a kind, or a glob over kinds: "lambda.*", "*"
 *       target: "Inventory*"      # glob over the resource's local name (default "*")
 *       rate: 0.1
 *       afterAwsCalls: 2          # parameters some kinds read (see FAULT_PARAMETERS)
 *     - kind: dynamodb.throttling
 *       operation: TransactWriteItems
 *       rate: 0.2
 *   process:
 *     killAfterSeconds: 30        # the runtime kills itself with SIGKILL (CLI only), to try a restart
 *
 * The decision for the n-th call of a kind on a target is hash(seed, kind, target, n) < rate: reproducible for
 * the same sequence of calls, independent of other kinds and targets.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FAULT_KINDS, FaultKind, Faults, isFaultKind } from './faults';

/** Numeric parameters a rule may carry, by the kinds that read them. */
export const FAULT_PARAMETERS = {
  /** lambda.crash: the environment dies right after this many AWS calls of the invocation returned (default: 1 to 3, from the seed). */
  afterAwsCalls: ['lambda.crash'],
  /** lambda.coldStart: extra INIT latency (default 1000 ms). */
  latencyMs: ['lambda.coldStart'],
} as const satisfies Record<string, readonly FaultKind[]>;

const rate = z.number().min(0).max(1);
const rule = z
  .object({
    kind: z.string().refine((k) => kindsMatching(k).length > 0, { message: `matches no fault kind (kinds: ${Object.keys(FAULT_KINDS).join(', ')})` }),
    target: z.string().default('*'),
    operation: z.string().optional(),
    rate,
    afterAwsCalls: z.number().int().min(0).optional(),
    latencyMs: z.number().int().min(0).optional(),
  })
  .strict();
export const faultPlanSchema = z
  .object({
    seed: z.union([z.number().int(), z.string()]).default(1),
    rate: rate.default(0),
    rules: z.array(rule).default([]),
    process: z.object({ killAfterSeconds: z.number().positive().optional() }).strict().default({}),
  })
  .strict();

export type FaultPlan = z.infer<typeof faultPlanSchema>;
export type FaultPlanInput = z.input<typeof faultPlanSchema>;
type Rule = FaultPlan['rules'][number];

/** Parses and checks a plan; an error names the field that is wrong. */
export function parseFaultPlan(input: unknown, source = 'fault plan'): FaultPlan {
  const parsed = faultPlanSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return parsed.data;
}

/** Reads `--faults FILE`: JSON, or YAML (JSON is YAML too, so one parser reads both). */
export function readFaultPlan(file: string): FaultPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`--faults ${file}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new Error(`--faults ${file}: not JSON or YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return parseFaultPlan(data ?? {}, `--faults ${file}`);
}

function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function kindsMatching(glob: string): FaultKind[] {
  const pattern = globRegExp(glob);
  return (Object.keys(FAULT_KINDS) as FaultKind[]).filter((k) => pattern.test(k));
}

/** FNV-1a then a murmur3 finalizer: a well-mixed 32-bit hash of a string, as a number in [0, 1). */
function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

export interface InjectedFault {
  kind: FaultKind;
  target: string;
  operation?: string;
  /** 1 for the first fault of this kind on this target. */
  n: number;
}

export interface FaultCounts {
  seed: number | string;
  total: number;
  byKind: Partial<Record<FaultKind, number>>;
  /** `kind target` -> count */
  byTarget: Record<string, number>;
  /** How many times each kind was asked (the denominator of its rate). */
  calls: Partial<Record<FaultKind, number>>;
}

interface CompiledRule extends Rule {
  kinds: Set<FaultKind>;
  targetPattern: RegExp;
}

/** The runtime's Faults: decides from the plan, counts, and reports each injected fault. */
export class FaultInjector implements Faults {
  private readonly rules: CompiledRule[];
  private readonly callCounters = new Map<string, number>();
  private readonly randomCounters = new Map<string, number>();
  private readonly injected = new Map<string, number>();
  private readonly calls = new Map<FaultKind, number>();
  private readonly byKind = new Map<FaultKind, number>();

  constructor(
    readonly plan: FaultPlan,
    private readonly onFault: (fault: InjectedFault) => void = () => undefined,
  ) {
    this.rules = plan.rules.map((r) => ({ ...r, kinds: new Set(kindsMatching(r.kind)), targetPattern: globRegExp(r.target) }));
  }

  /** True when the plan can inject anything (a plan of zeros costs the engines nothing but the question). */
  get active(): boolean {
    return this.plan.rate > 0 || this.plan.rules.some((r) => r.rate > 0);
  }

  /** True when some rule or the default rate could inject this kind (lets a seam skip work, e.g. buffering). */
  mayInject(kind: FaultKind): boolean {
    return this.plan.rate > 0 || this.rules.some((r) => r.rate > 0 && r.kinds.has(kind));
  }

  private ruleFor(kind: FaultKind, target: string, operation?: string): CompiledRule | undefined {
    return this.rules.find((r) => r.kinds.has(kind) && r.targetPattern.test(target) && (r.operation === undefined || r.operation === operation));
  }

  inject(kind: FaultKind, target: string, operation?: string): boolean {
    if (!isFaultKind(kind)) throw new Error(`unknown fault kind ${String(kind)}`);
    const chance = this.ruleFor(kind, target, operation)?.rate ?? this.plan.rate;
    this.calls.set(kind, (this.calls.get(kind) ?? 0) + 1);
    if (chance <= 0) return false;
    const key = `${kind}\u0000${target}`;
    const n = (this.callCounters.get(key) ?? 0) + 1;
    this.callCounters.set(key, n);
    if (unitHash(`${this.plan.seed}\u0000${key}\u0000${n}`) >= chance) return false;
    const count = (this.injected.get(key) ?? 0) + 1;
    this.injected.set(key, count);
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    this.onFault({ kind, target, operation, n: count });
    return true;
  }

  random(kind: FaultKind, target: string): number {
    const key = `${kind}\u0000${target}`;
    const n = (this.randomCounters.get(key) ?? 0) + 1;
    this.randomCounters.set(key, n);
    return unitHash(`${this.plan.seed}\u0000random\u0000${key}\u0000${n}`);
  }

  parameter(kind: FaultKind, target: string, name: string): number | undefined {
    const value = (this.ruleFor(kind, target) as Record<string, unknown> | undefined)?.[name];
    return typeof value === 'number' ? value : undefined;
  }

  counts(): FaultCounts {
    const byTarget: Record<string, number> = {};
    for (const [key, n] of [...this.injected].sort(([a], [b]) => a.localeCompare(b))) byTarget[key.replace('\u0000', ' ')] = n;
    const sorted = <T extends string>(m: Map<T, number>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b))) as Partial<Record<T, number>>;
    return { seed: this.plan.seed, total: [...this.byKind.values()].reduce((a, b) => a + b, 0), byKind: sorted(this.byKind), byTarget, calls: sorted(this.calls) };
  }
}
