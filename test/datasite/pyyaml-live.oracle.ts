/**
 * Differential check against the real PyYAML + pydantic, on seeded random input. Not part of `npm test` (CI machines
 * need not have PyYAML; the frozen golden file in pyyaml.test.ts / state.test.ts covers the same behaviours there):
 * run it with `npm run test:pyyaml-oracle` on a machine whose python3 has PyYAML and pydantic 2.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { pyYamlDump, pyYamlLoad, type PyValue } from '../../lib/datasite/pyyaml';
import { emitState, parseState, type JobState } from '../../lib/datasite/state';
import { emitRuleSet, parseRuleSet } from '../../lib/datasite/permissions';
import { formatPyTimestamp } from '../../lib/datasite/time';
import { FIXTURES } from './helpers';

const ORACLE = path.join(FIXTURES, 'pyyaml_oracle.py');
const probe = spawnSync('python3', ['-c', 'import yaml, pydantic'], { encoding: 'utf8' });
const available = probe.status === 0;
if (!available) throw new Error(`python3 with PyYAML and pydantic is required for this check: ${probe.stderr}`);

type Req = Record<string, unknown>;
function oracle(reqs: Req[]): Array<{ out?: unknown; error?: string }> {
  const r = spawnSync('python3', [ORACLE], { input: reqs.map((q) => JSON.stringify(q)).join('\n') + '\n', encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { out?: unknown; error?: string });
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ATOMS = [
  ' ', ' ', ' ', '  ', '\n', '\n\n', ':', ': ', '#', ' #', "'", '"', '-', '- ', '?', '? ', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '%', '@', '`',
  '\t', '\\', 'é', '中', '😀', '\u2028', '\x85', '\xa0', '\ufeff', '\x00', '\x1b', '\x7f', '~', 'null', 'true', 'yes', 'no', '0', '1', '12', '0x1F', '1.5',
  '.inf', '---', '...', '2026-11-25', 'T18:46:23Z', 'word', 'words', 'longerword', 'reason', 'x'.repeat(30), 'y'.repeat(79), '\r', '=', '<<',
];

function randomString(rnd: () => number): string {
  const n = Math.floor(rnd() ** 2 * 40);
  let s = '';
  for (let i = 0; i < n; i++) s += rnd() < 0.55 ? 'abcdefghij klmnop qrstuv wxyz'.slice(Math.floor(rnd() * 25)).slice(0, 1 + Math.floor(rnd() * 8)) : ATOMS[Math.floor(rnd() * ATOMS.length)]!;
  return s;
}

function randomValue(rnd: () => number, depth: number): PyValue {
  const k = rnd();
  if (depth > 2 || k < 0.45) return randomString(rnd);
  if (k < 0.55) return [null, true, false, 0, -1, 127, 2 ** 40][Math.floor(rnd() * 7)]!;
  if (k < 0.75) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  const o: Record<string, PyValue> = {};
  for (let i = Math.floor(rnd() * 4); i > 0; i--) o[randomString(rnd)] = randomValue(rnd, depth + 1);
  return o;
}

describe('live differential against PyYAML/pydantic (seeded random input)', () => {
  if (!available) console.warn('pyyaml-live: python3 with PyYAML and pydantic not found; skipped (golden tests still run)');

  it('pyYamlDump == yaml.dump for 3000 random documents (with and without allow_unicode)', () => {
    const rnd = mulberry32(20261125);
    const cases: Array<{ value: PyValue; allow_unicode: boolean }> = [];
    for (let i = 0; i < 3000; i++) {
      const value: PyValue = i % 3 === 0 ? { review_reason: randomString(rnd), status: 'pending' } : { root: randomValue(rnd, 0), [randomString(rnd)]: randomValue(rnd, 1) };
      cases.push({ value, allow_unicode: i % 5 === 0 });
    }
    const answers = oracle(cases.map((c) => ({ op: 'dump', value: c.value, allow_unicode: c.allow_unicode })));
    const failures = cases
      .map((c, i) => ({ c, want: answers[i]!.out as string, got: pyYamlDump(c.value, { allowUnicode: c.allow_unicode }) }))
      .filter((x) => x.got !== x.want);
    expect(failures.slice(0, 3).map((f) => ({ input: JSON.stringify(f.c), want: f.want, got: f.got }))).toEqual([]);
  });

  it('pyYamlLoad agrees with yaml.safe_load on what we emit (3000 documents)', () => {
    const rnd = mulberry32(7);
    const docs = Array.from({ length: 3000 }, () => ({ v: randomValue(rnd, 0), k: randomString(rnd) }));
    const texts = docs.map((d) => pyYamlDump({ [d.k]: d.v }));
    const answers = oracle(texts.map((text) => ({ op: 'load', text })));
    texts.forEach((text, i) => {
      const want = answers[i]!;
      if (want.error) throw new Error(`PyYAML could not load our output: ${JSON.stringify(text)}`);
      expect([text, pyYamlLoad(text)]).toEqual([text, want.out]);
    });
  });

  it('emitState output is a fixed point of Python load + save (1500 random states)', () => {
    const rnd = mulberry32(42);
    const statuses = ['received', 'pending', 'approved', 'rejected', 'running', 'done', 'failed'] as const;
    const micros = () => 1_700_000_000_000_000 + Math.floor(rnd() * 1e14);
    // Some whole seconds: pydantic then writes no fraction.
    const ts = () => (rnd() < 0.3 ? null : formatPyTimestamp(rnd() < 0.2 ? Math.floor(micros() / 1e6) * 1e6 : micros()));
    const str = () => (rnd() < 0.3 ? null : randomString(rnd));
    const states: JobState[] = Array.from({ length: 1500 }, () => ({
      status: statuses[Math.floor(rnd() * statuses.length)]!,
      received_at: ts(),
      approved_by: str(),
      approved_at: ts(),
      approval_method: rnd() < 0.5 ? null : rnd() < 0.5 ? 'auto' : 'manual',
      rejected_by: str(),
      rejected_at: ts(),
      review_reason: str(),
      completed_at: ts(),
      return_code: rnd() < 0.5 ? null : Math.floor(rnd() * 512) - 256,
    }));
    const texts = states.map(emitState);
    const answers = oracle(texts.map((text) => ({ op: 'state', text })));
    texts.forEach((text, i) => {
      expect([states[i], answers[i]!.out]).toEqual([states[i], text]);
      expect(parseState(text)).toEqual({ ok: true, value: states[i], notes: [] });
    });
  });

  it('hand-made state.yaml variants: parseState + emitState == pydantic load + yaml.dump, or both refuse', () => {
    const rnd = mulberry32(99);
    const lines = [
      "received_at: '2026-11-25T18:46:23.5+00:00'", 'received_at: 2026-11-25 18:46:23', "received_at: '2026-11-25'", 'received_at: ~',
      "approved_by: 'x'", 'approved_by: x', 'approved_by: 1', 'approved_by: "caf\\xE9"', 'approved_by: !!str 12', "approval_method: ''",
      'return_code: 0', "return_code: '7'", 'return_code: 7.0', 'return_code: true', 'return_code: 0x10', 'return_code: x',
      'review_reason: >\n  folded\n  text', 'review_reason: |\n  a\n  b', "review_reason: 'it''s'", 'review_reason: a # c',
      'status: pending', 'status: done', 'status: Pending', "status: 'failed'", 'extra: [1, 2]', 'completed_at: 1700000000',
    ];
    const texts = Array.from({ length: 400 }, () => {
      const picked = lines.filter(() => rnd() < 0.3);
      return [...picked, `status: ${['pending', 'approved', 'done'][Math.floor(rnd() * 3)]}`].join('\n') + '\n';
    });
    const answers = oracle(texts.map((text) => ({ op: 'state', text })));
    texts.forEach((text, i) => {
      const r = parseState(text);
      const want = answers[i]!;
      if (want.out !== undefined) {
        expect([text, r.ok ? emitState(r.value) : r.problem.message]).toEqual([text, want.out]);
      } else {
        expect([text, r.ok]).toEqual([text, false]);
      }
    });
  });

  it('emitRuleSet == yaml.safe_dump for random rule sets, and parses back', () => {
    const rnd = mulberry32(3);
    const sets = Array.from({ length: 500 }, () => ({
      rules: Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => ({
        access: { admin: [], read: Array.from({ length: Math.floor(rnd() * 3) }, () => randomString(rnd)), write: rnd() < 0.5 ? [] : ['*'] },
        pattern: rnd() < 0.3 ? '**' : `${randomString(rnd)}/outputs/**`,
      })),
      terminal: rnd() < 0.2,
    }));
    const answers = oracle(sets.map((value) => ({ op: 'dump', value, safe: true })));
    sets.forEach((rs, i) => {
      const text = emitRuleSet(rs);
      expect(text).toBe(answers[i]!.out);
      expect(parseRuleSet(text)).toEqual({ ok: true, value: rs, notes: [] });
    });
  });
});
