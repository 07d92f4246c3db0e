/**
 * EventBridge Scheduler schedules (and scheduled rules): `rate(...)` expressions fire every period divided by the
 * time scale, first after one period, as AWS does; `at(...)` fires once. `cron(...)` is not emulated (warned at start).
 */
import { Clock } from '../clock';

export interface ScheduleSpec {
  name: string;
  expression: string;
  enabled: boolean;
  fire: () => Promise<void>;
}

const UNIT_MS: Record<string, number> = { minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000 };

export function ratePeriodMs(expression: string): number | undefined {
  const m = /^rate\((\d+)\s+(minutes?|hours?|days?)\)$/.exec(expression.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}

export class SchedulesEngine {
  /** The pending timer of each schedule (re-armed after every firing). */
  private readonly timers = new Map<string, () => void>();
  private readonly firing = new Set<Promise<void>>();
  readonly unsupported: string[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly onFire?: (name: string, error?: Error) => void,
  ) {}

  add(spec: ScheduleSpec): void {
    if (!spec.enabled) return;
    const period = ratePeriodMs(spec.expression);
    const at = /^at\((.+)\)$/.exec(spec.expression.trim());
    if (period) {
      const tick = () => {
        this.run(spec);
        this.timers.set(spec.name, this.clock.after(period, tick));
      };
      this.timers.set(spec.name, this.clock.after(period, tick));
    } else if (at) {
      const delay = Math.max(0, Date.parse(`${at[1]}Z`) - this.clock.now());
      this.timers.set(spec.name, this.clock.after(delay, () => this.run(spec)));
    } else {
      this.unsupported.push(`${spec.name}: ${spec.expression}`);
    }
  }

  private run(spec: ScheduleSpec): void {
    const p = spec.fire().then(
      () => this.onFire?.(spec.name),
      (error: Error) => this.onFire?.(spec.name, error),
    );
    this.firing.add(p);
    void p.finally(() => this.firing.delete(p));
  }

  async stop(): Promise<void> {
    this.timers.forEach((cancel) => cancel());
    this.timers.clear();
    await Promise.allSettled([...this.firing]);
  }
}
