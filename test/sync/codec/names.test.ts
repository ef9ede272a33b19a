import {
  archiveFolderName,
  checkpointFileName,
  checkpointsFolderName,
  eventsFileName,
  incrementalCheckpointFileName,
  newTimestamp,
  nextUp,
  parseCheckpointFileName,
  parseEventsFileName,
  parseFloatStrict,
  parseIncrementalCheckpointFileName,
  parseProposalFileName,
  parseRollingStateFileName,
  personalFolderName,
  proposalFileName,
  pydanticFloatJson,
  pyFloatRepr,
  rollingStateFileName,
  rollingStateFolderName,
  TimestampClock,
} from '../../../lib/sync/codec/names';
import { SYFT_CLIENT_VERSION } from '../../../lib/peers/version';
import { goldenText } from './golden';

interface FloatCase {
  value: number;
  repr: string;
  pydantic: string;
}
const FLOATS = JSON.parse(goldenText('floats.json')) as FloatCase[];

describe('float text (golden from python3 repr() and pydantic model_dump_json)', () => {
  it('has a few hundred cases', () => expect(FLOATS.length).toBeGreaterThan(400));

  it.each(FLOATS.slice(0, 40).map((c) => [c.repr, c] as const))('repr %s', (_r, c) => {
    expect(pyFloatRepr(c.value)).toBe(c.repr);
    expect(pydanticFloatJson(c.value)).toBe(c.pydantic);
  });

  it('all random cases agree with Python', () => {
    const bad = FLOATS.filter((c) => pyFloatRepr(c.value) !== c.repr || pydanticFloatJson(c.value) !== c.pydantic);
    expect(bad).toEqual([]);
  });

  it('every repr parses back to the same double', () => {
    for (const c of FLOATS) expect(Object.is(parseFloatStrict(c.repr), c.value)).toBe(true);
  });

  it('non-finite values', () => {
    expect(pyFloatRepr(Infinity)).toBe('inf');
    expect(pyFloatRepr(-Infinity)).toBe('-inf');
    expect(pyFloatRepr(NaN)).toBe('nan');
    expect(pydanticFloatJson(NaN)).toBe('null');
  });

  it('parseFloatStrict refuses what syft-client never writes', () => {
    for (const s of ['', 'inf', 'nan', 'NaN', ' 1.5', '1.5 ', '1_000.5', '0x10', '1e999', '1.2.3', '--1', '+', '.', 'e5']) {
      expect(parseFloatStrict(s)).toBeUndefined();
    }
    expect(parseFloatStrict('1795632149.7272775')).toBe(1795632149.7272775);
    expect(parseFloatStrict('1e-05')).toBe(1e-5);
    expect(parseFloatStrict('-0.0')).toBe(-0);
    expect(parseFloatStrict('5.')).toBe(5);
  });
});

describe('file names', () => {
  const uid = '9cf1a5cd-1e2f-4a3b-8c4d-5e6f7a8b9c0d';

  it('proposal names match the golden ones and round-trip', () => {
    const name = goldenText('proposal.name');
    const p = parseProposalFileName(name)!;
    expect(p).toBeDefined();
    expect(proposalFileName(p.submittedTimestamp, p.uid)).toBe(name);
    expect(proposalFileName(1795632149.7272775, uid)).toBe(`msgv2_1795632149.7272775_${uid}.tar.gz`);
    expect(proposalFileName(1795632149, uid)).toBe(`msgv2_1795632149.0_${uid}.tar.gz`);
  });

  it('proposal parser follows MessageFileName.from_string and refuses foreign names', () => {
    expect(parseProposalFileName('msgv2_1.5_abc.tar.gz')).toEqual({ submittedTimestamp: 1.5, uid: 'abc' });
    for (const n of [
      'msgv2_1.5_abc',
      'msgv2_1.5_a_b.tar.gz',
      'msgv3_1.5_abc.tar.gz',
      'msgv2_x_abc.tar.gz',
      'msgv2_nan_abc.tar.gz',
      'msgv2_1.5_.tar.gz',
      'msgv2_1.5_a.tar.gz.tar.gz',
      'syfteventsmessagev3_1.5_' + uid + '.tar.gz',
      '',
    ]) {
      expect(parseProposalFileName(n)).toBeUndefined();
    }
    expect(() => proposalFileName(1, 'a_b')).toThrow(/uid/);
    expect(() => proposalFileName(NaN, 'ab')).toThrow(/timestamp/);
  });

  it('events names match the golden one and round-trip', () => {
    const name = goldenText('events.name');
    const p = parseEventsFileName(name)!;
    expect(eventsFileName(p.timestamp, p.id)).toBe(name);
    expect(parseEventsFileName(`syfteventsmessagev3_1795632164.6253147_${uid.toUpperCase()}.tar.gz`)).toEqual({ timestamp: 1795632164.6253147, id: uid });
    for (const n of [
      `syfteventsmessagev3_1.5_${uid}`,
      `syfteventsmessagev3_1.5_not-a-uuid.tar.gz`,
      `syfteventsmessagev3_x_${uid}.tar.gz`,
      `syfteventsmessagev2_1.5_${uid}.tar.gz`,
      `msgv2_1.5_${uid}.tar.gz`,
    ]) {
      expect(parseEventsFileName(n)).toBeUndefined();
    }
    expect(() => eventsFileName(1, 'nope')).toThrow(/UUID/);
  });

  it('checkpoint, incremental checkpoint and rolling state names', () => {
    expect(checkpointFileName(1795632200.0625)).toBe('checkpoint_1795632200.0625.tar.gz');
    expect(parseCheckpointFileName('checkpoint_1795632200.0625.tar.gz')).toEqual({ timestamp: 1795632200.0625 });
    expect(parseCheckpointFileName('incremental_checkpoint_1_2.5.tar.gz')).toBeUndefined();
    expect(incrementalCheckpointFileName(3, 1795632190.75)).toBe('incremental_checkpoint_3_1795632190.75.tar.gz');
    expect(parseIncrementalCheckpointFileName('incremental_checkpoint_3_1795632190.75.tar.gz')).toEqual({ sequenceNumber: 3, timestamp: 1795632190.75 });
    expect(parseIncrementalCheckpointFileName('incremental_checkpoint_x_1.5.tar.gz')).toBeUndefined();
    expect(parseIncrementalCheckpointFileName('checkpoint_1.5.tar.gz')).toBeUndefined();
    expect(() => incrementalCheckpointFileName(-1, 1)).toThrow();
    expect(rollingStateFileName(1795632180.1234567)).toBe('rolling_state_1795632180.1234567.tar.gz');
    expect(parseRollingStateFileName('rolling_state_1795632180.1234567.tar.gz')).toEqual({ timestamp: 1795632180.1234567 });
    expect(parseRollingStateFileName('rolling_state_x.tar.gz')).toBeUndefined();
  });

  it('folder names embed the syft-client version', () => {
    expect(personalFolderName('do@example.com')).toBe(`${SYFT_CLIENT_VERSION}#do@example.com`);
    expect(checkpointsFolderName('do@example.com')).toBe(`do@example.com-${SYFT_CLIENT_VERSION}-checkpoints`);
    expect(rollingStateFolderName('do@example.com')).toBe(`do@example.com-${SYFT_CLIENT_VERSION}-rolling-state`);
    expect(personalFolderName('a@b.c', '0.1.99')).toBe('0.1.99#a@b.c');
    expect(archiveFolderName('ds@x.org', 'do@y.com')).toBe('syft_ds@x.org_to_do@y.com_archive');
  });
});

describe('timestamps', () => {
  it('are strictly increasing, even for the same clock reading, with 7-decimal reprs', () => {
    const clock = new TimestampClock();
    const ms = 1795632149123;
    const values = Array.from({ length: 500 }, () => clock.next(ms));
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!);
    for (const v of values) expect(pyFloatRepr(v)).toMatch(/^\d{10}\.\d{7}$/);
    // names sort like the timestamps
    const names = values.map((v) => proposalFileName(v, 'u'));
    expect([...names].sort()).toEqual(names);
    expect(values[0]!).toBeGreaterThanOrEqual(ms / 1000);
    expect(values[499]! - ms / 1000).toBeLessThan(0.001);
  });

  it('never go backwards when the clock does', () => {
    const clock = new TimestampClock();
    const a = clock.next(1795632149500);
    const b = clock.next(1795632149000);
    expect(b).toBeGreaterThan(a);
  });

  it('newTimestamp follows the wall clock', () => {
    const before = Date.now() / 1000;
    const t = newTimestamp();
    expect(t).toBeGreaterThanOrEqual(before - 0.001);
    expect(t).toBeLessThan(Date.now() / 1000 + 1);
    expect(newTimestamp()).toBeGreaterThan(t);
  });

  it('nextUp is the next double', () => {
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
    expect(nextUp(1795632149.5)).toBeGreaterThan(1795632149.5);
  });
});
