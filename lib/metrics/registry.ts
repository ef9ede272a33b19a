/**
 * A service's own metrics (pure): counters and gauges by name, read by the PM2 publisher (pm2 show / pm2 monit)
 * and written to the service's status file for `syft-bg status --json`.
 */

export type MetricKind = 'counter' | 'gauge';

export interface MetricDef {
  /** The name shown by `pm2 show` / `pm2 monit`, e.g. "jobs approved". */
  name: string;
  kind: MetricKind;
  unit?: string;
}

export type MetricValue = number | string | null;

export class MetricRegistry {
  private readonly values = new Map<string, MetricValue>();
  private readonly defs = new Map<string, MetricDef>();
  private readonly readers = new Map<string, () => MetricValue>();

  constructor(defs: readonly MetricDef[]) {
    for (const d of defs) {
      if (this.defs.has(d.name)) throw new Error(`metric ${JSON.stringify(d.name)} defined twice`);
      this.defs.set(d.name, d);
      this.values.set(d.name, d.kind === 'counter' ? 0 : null);
    }
  }

  list(): MetricDef[] {
    return [...this.defs.values()];
  }

  private def(name: string, kind?: MetricKind): MetricDef {
    const d = this.defs.get(name);
    if (!d) throw new Error(`unknown metric ${JSON.stringify(name)}`);
    if (kind && d.kind !== kind) throw new Error(`metric ${JSON.stringify(name)} is a ${d.kind}, not a ${kind}`);
    return d;
  }

  /** Add `n` (>= 0) to a counter. */
  inc(name: string, n = 1): void {
    this.def(name, 'counter');
    if (!(n >= 0) || !Number.isFinite(n)) throw new Error(`counter ${JSON.stringify(name)}: cannot add ${n}`);
    this.values.set(name, (this.values.get(name) as number) + n);
  }

  /** Set a gauge. */
  set(name: string, v: MetricValue): void {
    this.def(name, 'gauge');
    this.values.set(name, v);
  }

  /** Make a gauge read its value from `read` whenever it is published. */
  bind(name: string, read: () => MetricValue): void {
    this.def(name, 'gauge');
    this.readers.set(name, read);
  }

  get(name: string): MetricValue {
    this.def(name);
    const read = this.readers.get(name);
    if (read) {
      try {
        return read();
      } catch {
        return null;
      }
    }
    return this.values.get(name) ?? null;
  }

  /** Every metric by name, in definition order. */
  snapshot(): Record<string, MetricValue> {
    const out: Record<string, MetricValue> = {};
    for (const name of this.defs.keys()) out[name] = this.get(name);
    return out;
  }
}
