import { MetricRegistry } from '../../lib/metrics';

describe('MetricRegistry', () => {
  const defs = [
    { name: 'jobs approved', kind: 'counter' as const },
    { name: 'last cycle', kind: 'gauge' as const, unit: 'ms' },
  ];

  it('counters start at 0 and only go up; gauges start empty and take any value', () => {
    const m = new MetricRegistry(defs);
    expect(m.snapshot()).toEqual({ 'jobs approved': 0, 'last cycle': null });
    m.inc('jobs approved');
    m.inc('jobs approved', 2);
    m.set('last cycle', 12.5);
    expect(m.snapshot()).toEqual({ 'jobs approved': 3, 'last cycle': 12.5 });
    expect(Object.keys(m.snapshot())).toEqual(['jobs approved', 'last cycle']);
  });

  it('refuses unknown names, wrong kinds, negative or non-finite increments, duplicate definitions', () => {
    const m = new MetricRegistry(defs);
    expect(() => m.inc('nope')).toThrow(/unknown metric "nope"/);
    expect(() => m.set('jobs approved', 1)).toThrow(/is a counter, not a gauge/);
    expect(() => m.inc('last cycle')).toThrow(/is a gauge, not a counter/);
    expect(() => m.inc('jobs approved', -1)).toThrow(/cannot add -1/);
    expect(() => m.inc('jobs approved', Number.NaN)).toThrow(/cannot add NaN/);
    expect(() => new MetricRegistry([...defs, defs[0]!])).toThrow(/defined twice/);
    expect(m.get('jobs approved')).toBe(0);
  });
});
