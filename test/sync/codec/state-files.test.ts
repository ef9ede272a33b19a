import { MessageFormatError } from '../../../lib/sync/codec/errors';
import { fileChangeEvent } from '../../../lib/sync/codec/events';
import {
  addEventsToRollingState,
  decodeCheckpoint,
  decodeIncrementalCheckpoint,
  decodeOwnerFileHashes,
  decodeRollingState,
  emptyRollingState,
  encodeCheckpoint,
  encodeIncrementalCheckpoint,
  encodeOwnerFileHashes,
  encodeRollingState,
  packCheckpoint,
  packIncrementalCheckpoint,
  packRollingState,
  pyJsonString,
  unpackCheckpoint,
  unpackIncrementalCheckpoint,
  unpackRollingState,
} from '../../../lib/sync/codec/state-files';
import { goldenText } from './golden';

const err = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MessageFormatError);
    return (e as Error).message;
  }
  throw new Error('expected a MessageFormatError');
};

describe('state files: golden round trips', () => {
  it.each([
    ['rolling_state.json', decodeRollingState, encodeRollingState],
    ['rolling_state_empty.json', decodeRollingState, encodeRollingState],
    ['incremental_checkpoint.json', decodeIncrementalCheckpoint, encodeIncrementalCheckpoint],
    ['checkpoint.json', decodeCheckpoint, encodeCheckpoint],
  ] as const)('%s decodes and re-encodes byte for byte', (name, decode, encode) => {
    const text = goldenText(name);
    expect((encode as (x: unknown) => string)((decode as (t: string) => unknown)(text))).toBe(text);
  });

  it('tarball round trips', () => {
    const rs = decodeRollingState(goldenText('rolling_state.json'));
    expect(unpackRollingState(packRollingState(rs))).toEqual(rs);
    const inc = decodeIncrementalCheckpoint(goldenText('incremental_checkpoint.json'));
    expect(unpackIncrementalCheckpoint(packIncrementalCheckpoint(inc))).toEqual(inc);
    const cp = decodeCheckpoint(goldenText('checkpoint.json'));
    expect(unpackCheckpoint(packCheckpoint(cp))).toEqual(cp);
    expect(cp.files).toHaveLength(3);
    expect(inc.sequence_number).toBe(3);
    expect(rs.events[2]!.is_deleted).toBe(true);
  });

  it('rolling state helpers', () => {
    const rs = emptyRollingState('do@x.com', 10.5, 3.25);
    expect(encodeRollingState(rs)).toBe('{"version":1,"timestamp":10.5,"email":"do@x.com","base_checkpoint_timestamp":3.25,"last_event_timestamp":null,"events":[]}');
    const e1 = fileChangeEvent({ path: 'a', datasiteEmail: 'do@x.com', content: 'x', oldHash: null, timestamp: 20 });
    const e2 = fileChangeEvent({ path: 'b', datasiteEmail: 'do@x.com', content: 'y', oldHash: null, timestamp: 15 });
    const next = addEventsToRollingState(rs, [e1, e2], 30);
    expect(next.events).toEqual([e1, e2]);
    expect(next.last_event_timestamp).toBe(20);
    expect(next.timestamp).toBe(30);
    expect(rs.events).toEqual([]);
    expect(addEventsToRollingState(next, [], 31).last_event_timestamp).toBe(20);
  });

  it('errors name the key; other versions refused', () => {
    expect(err(() => decodeRollingState('{"timestamp":1,"email":"a","base_checkpoint_timestamp":"x"}'))).toMatch(/rolling state: base_checkpoint_timestamp/);
    expect(err(() => decodeRollingState('{"version":2,"timestamp":1,"email":"a","base_checkpoint_timestamp":0}'))).toMatch(/version 2 is not supported/);
    expect(err(() => decodeIncrementalCheckpoint('{"timestamp":1,"email":"a","sequence_number":1.5}'))).toMatch(/sequence_number/);
    expect(err(() => decodeCheckpoint('{"timestamp":1,"email":"a","files":[{"path":"p","hash":"h"}]}'))).toMatch(/files\[0\]\.content/);
    expect(err(() => decodeRollingState(''))).toMatch(/not valid JSON/);
  });
});

describe('owner_file_hashes.json (json.dumps of a dict)', () => {
  it('decodes and re-encodes the golden file byte for byte, in order', () => {
    const text = goldenText('owner_file_hashes.json');
    const m = decodeOwnerFileHashes(text);
    expect([...m.keys()][3]).toBe('public/naïve 😀/"q"\\x.txt');
    expect(m.get('weird\u007f\u0001\tname')).toBeNull();
    expect(encodeOwnerFileHashes(m)).toBe(text);
  });

  it('keeps hostile keys as data', () => {
    const m = decodeOwnerFileHashes('{"__proto__": "h1", "constructor": "h2"}');
    expect(m.get('__proto__')).toBe('h1');
    expect(m.get('constructor')).toBe('h2');
    expect(encodeOwnerFileHashes(m)).toBe('{"__proto__": "h1", "constructor": "h2"}');
    expect(encodeOwnerFileHashes(new Map())).toBe('{}');
  });

  it('refuses non-objects and non-string values', () => {
    expect(err(() => decodeOwnerFileHashes('[]'))).toMatch(/not a JSON object/);
    expect(err(() => decodeOwnerFileHashes('{"a": 1}'))).toMatch(/"a": expected a hash string/);
    expect(err(() => decodeOwnerFileHashes('{"a": '))).toMatch(/not valid JSON/);
  });

  it('pyJsonString escapes like json.dumps(ensure_ascii=True)', () => {
    expect(pyJsonString('a\u00e9\u{1f600}\u007f\b\f\n\r\t"\\/')).toBe('"a\\u00e9\\ud83d\\ude00\\u007f\\b\\f\\n\\r\\t\\"\\\\/"');
  });
});
