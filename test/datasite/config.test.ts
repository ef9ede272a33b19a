import { emitConfig, parseConfig, type JobConfig } from '../../lib/datasite/config';
import { DS, FIXTURE_JOBS, readFixture } from './helpers';

function mustParse(text: string, dirName?: string): JobConfig {
  const r = parseConfig(text, dirName === undefined ? {} : { dirName });
  if (!r.ok) throw new Error(`${r.problem.code}: ${r.problem.message}`);
  return r.value;
}

describe('config.yaml: fixtures', () => {
  it.each(FIXTURE_JOBS)('%s parses, names match, and re-emits byte-identical', (job) => {
    const text = readFixture('inbox', DS, job, 'config.yaml');
    const r = parseConfig(text, { dirName: job });
    expect(r.ok && r.notes).toEqual([]);
    const c = mustParse(text);
    expect(c.name).toBe(job);
    expect(emitConfig(c)).toBe(text);
  });

  it('python folder submission and bash submission fields', () => {
    expect(mustParse(readFixture('inbox', DS, 'analysis-pending', 'config.yaml'))).toEqual({
      code_path: '/home/ds/analysis',
      datasets: null,
      dependencies: ['syft-client==0.1.117'],
      entrypoint: 'main.py',
      files: ['main.py', 'params.json'],
      headers: {},
      is_folder_submission: true,
      job_type: 'local',
      name: 'analysis-pending',
      submitted_at: '2026-11-25T18:46:23.644926Z',
      type: 'python',
    });
    const bash = mustParse(readFixture('inbox', DS, 'bash-done', 'config.yaml'));
    expect(bash).toMatchObject({ type: 'bash', entrypoint: null, dependencies: [], files: ['script.sh'], is_folder_submission: false });
  });
});

describe('config.yaml: syft-job semantics', () => {
  const fixture = readFixture('inbox', DS, 'analysis-pending', 'config.yaml');

  it.each(['submitted_by', 'datasite_email'])('%s makes the job invisible to Python: refused as invalid', (key) => {
    const r = parseConfig(fixture + `${key}: ds@example.org\n`);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problem).toMatchObject({ code: 'invalid' });
    expect(!r.ok && r.problem.message).toMatch(new RegExp(`contains ${key}.*Python ignores this job`));
  });

  it('emitConfig cannot write submitted_by or datasite_email', () => {
    const c = { ...mustParse(fixture), submitted_by: 'x@y.z', datasite_email: 'a@b.c' } as JobConfig;
    const text = emitConfig(c);
    expect(text).not.toMatch(/submitted_by|datasite_email/);
  });

  it('unknown keys are tolerated and reported', () => {
    const r = parseConfig(fixture + 'future_field: 1\nanother: [x]\n');
    expect(r.ok && r.notes).toEqual(['config.yaml: unknown keys ignored: future_field, another']);
  });

  it('defaults as pydantic: missing optional keys', () => {
    const c = mustParse("name: minimal\nsubmitted_at: '2026-11-25T18:46:23Z'\n");
    expect(c).toEqual({
      name: 'minimal',
      type: 'python',
      submitted_at: '2026-11-25T18:46:23Z',
      entrypoint: null,
      dependencies: [],
      files: [],
      is_folder_submission: false,
      code_path: null,
      job_type: 'local',
      datasets: null,
      headers: {},
    });
  });

  it('name differing from the directory is a note (the job layer turns it into a problem)', () => {
    const r = parseConfig(fixture, { dirName: 'other-dir' });
    expect(r.ok && r.notes[0]).toMatch(/differs from the job directory "other-dir"/);
  });

  it.each([
    ['name missing', fixture.replace('name: analysis-pending\n', ''), /name is missing/],
    ['name not a string', fixture.replace('name: analysis-pending', 'name: 42'), /name is number 42/],
    ['bad type', fixture.replace('type: python', 'type: ruby'), /type is string "ruby"/],
    ['bad job_type', fixture.replace('job_type: local', 'job_type: cloud'), /job_type/],
    ['submitted_at missing', fixture.replace(/submitted_at: .*\n/, ''), /submitted_at is missing/],
    ['submitted_at garbage', fixture.replace(/submitted_at: .*\n/, 'submitted_at: soon\n'), /not a datetime/],
    ['dependency not a string', fixture.replace('- syft-client==0.1.117', '- 3'), /dependencies/],
    ['files not a list', fixture.replace(/files:\n- main.py\n- params.json\n/, 'files: main.py\n'), /files/],
    ['headers not a map', fixture.replace('headers: {}', 'headers: [1]'), /headers/],
    ['datasets wrong', fixture.replace('datasets: null', 'datasets: {a: 1}'), /datasets/],
    ['is_folder_submission garbage', fixture.replace('is_folder_submission: true', 'is_folder_submission: maybe'), /is_folder_submission/],
    ['a list', '- name\n', /not a mapping/],
    ['type null', fixture.replace('type: python', 'type: null'), /type is null/],
  ])('%s -> invalid', (_n, text, msg) => {
    const r = parseConfig(text);
    expect(!r.ok && r.problem.code).toBe('invalid');
    expect(!r.ok && r.problem.message).toMatch(msg);
  });

  it('every strict prefix (a syncer mid-write) is refused, never a wrong job', () => {
    for (let i = 0; i < fixture.length - 1; i++) {
      const r = parseConfig(fixture.slice(0, i));
      // A prefix cut at a line boundary can be a valid config that lacks later keys; it must then differ from the
      // real one (the settle rule is what keeps us from acting on it).
      if (r.ok) expect(fixture.slice(0, i).endsWith('\n')).toBe(true);
      else if (!fixture.slice(0, i).endsWith('\n')) expect([i, r.problem.code]).toEqual([i, 'incomplete']);
      else expect(['incomplete', 'invalid']).toContain(r.problem.code);
    }
  });

  it('lax pydantic coercions: is_folder_submission "yes", offsets normalised', () => {
    const c = mustParse("name: x\nsubmitted_at: '2026-11-25T18:46:23.5+00:00'\nis_folder_submission: 'yes'\n");
    expect(c.is_folder_submission).toBe(true);
    expect(c.submitted_at).toBe('2026-11-25T18:46:23.500000Z');
  });

  it('hostile names survive parse + emit unchanged', () => {
    for (const name of ['Job - 1a2b3c4d', "it's \"quoted\"", 'new\nline', 'ünïcödé', '- dash', 'null', '123', '  spaced  ', '😀']) {
      const c: JobConfig = { ...mustParse(fixture), name };
      expect(mustParse(emitConfig(c)).name).toBe(name);
    }
  });
});
