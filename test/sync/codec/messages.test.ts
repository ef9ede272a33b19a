import { contentHash } from '../../../lib/sync/codec/content';
import { MessageFormatError } from '../../../lib/sync/codec/errors';
import {
  checkEventsMessageName,
  decodeEvents,
  deletionEvent,
  encodeEvents,
  eventFromProposedChange,
  eventsMessageFileName,
  fileChangeEvent,
  makeEventsMessage,
  packEvents,
  unpackEvents,
} from '../../../lib/sync/codec/events';
import { parseEventsFileName, parseProposalFileName } from '../../../lib/sync/codec/names';
import {
  decodeProposal,
  encodeProposal,
  makeProposal,
  packProposal,
  proposalMessageFileName,
  unpackProposal,
  type ProposedFileChangesMessage,
} from '../../../lib/sync/codec/proposal';
import { packMessage } from '../../../lib/sync/codec/tarball';
import { golden, goldenText } from './golden';

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MessageFormatError);
    return (e as Error).message;
  }
  throw new Error('expected a MessageFormatError');
}

const validProposal = (): Record<string, unknown> => JSON.parse(goldenText('proposal.json')) as Record<string, unknown>;

describe('proposal codec', () => {
  it('decodes the golden proposal and re-encodes it byte for byte (model_dump_json(indent=2))', () => {
    const text = goldenText('proposal.json');
    const msg = decodeProposal(text);
    expect(msg.sender_email).toBe('ds@example.org');
    expect(msg.proposed_file_changes).toHaveLength(4);
    const bin = msg.proposed_file_changes[3]!;
    expect(Buffer.isBuffer(bin.content)).toBe(true);
    expect((bin.content as Buffer).length).toBe(276);
    expect(bin.new_hash).toBe(contentHash(bin.content as Buffer));
    for (const c of msg.proposed_file_changes.slice(0, 3)) {
      expect(typeof c.content).toBe('string');
      expect(c.new_hash).toBe(contentHash(c.content as string));
    }
    expect(encodeProposal(msg)).toBe(text);
  });

  it('unpacks the python tarball', () => {
    const msg = unpackProposal(golden('proposal.tar.gz'));
    expect(encodeProposal(msg)).toBe(goldenText('proposal.json'));
    expect(proposalMessageFileName(msg)).toBe(goldenText('proposal.name'));
  });

  it('decodes like pydantic: unknown keys ignored, new_hash filled only when absent, int timestamps, legacy content_type', () => {
    const msg = decodeProposal(goldenText('proposal_loose.json'));
    expect(encodeProposal(msg)).toBe(goldenText('proposal_loose.expected.json'));
    expect(msg.proposed_file_changes[1]!.new_hash).toBeNull();
  });

  it('round-trips makeProposal output through pack/unpack', () => {
    let t = 1795632149.1;
    let n = 0;
    const msg = makeProposal({
      senderEmail: 'ds@example.org',
      datasiteEmail: 'do@example.com',
      files: [
        { path: 'app_data/job/inbox/ds@example.org/j/run.sh', content: 'echo hi\n' },
        { path: 'app_data/job/inbox/ds@example.org/j/code/x.bin', content: Buffer.from([0, 1, 2, 255]), oldHash: 'abc' },
      ],
      now: () => (t += 0.001),
      newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    });
    expect(msg.proposed_file_changes[0]!.submitted_timestamp).toBeLessThan(msg.message_filename.submitted_timestamp);
    expect(msg.proposed_file_changes[1]!.old_hash).toBe('abc');
    expect(msg.proposed_file_changes[0]!.old_hash).toBeNull();
    const back = unpackProposal(packProposal(msg));
    expect(back).toEqual(msg);
    const text = encodeProposal(msg);
    expect(text).toContain('"content": "AAEC/w==",');
    expect(text).toContain('"content_type": "binary"\n');
    expect(text).toContain('"content_type": "text"\n');
    expect(parseProposalFileName(proposalMessageFileName(msg))).toEqual({ submittedTimestamp: msg.message_filename.submitted_timestamp, uid: msg.message_filename.uid });
  });

  it('makeProposal defaults: fresh UUIDs and increasing timestamps', () => {
    const m = makeProposal({ senderEmail: 'a@b.c', datasiteEmail: 'd@e.f', files: [{ path: 'x', content: 'y' }, { path: 'z', content: 'w' }] });
    const ids = new Set([m.id, m.message_filename.uid, ...m.proposed_file_changes.map((c) => c.id)]);
    expect(ids.size).toBe(4);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(m.proposed_file_changes[1]!.submitted_timestamp).toBeGreaterThan(m.proposed_file_changes[0]!.submitted_timestamp);
  });

  it('errors name the bad key', () => {
    const mutate = (f: (p: Record<string, unknown>) => void) => {
      const p = validProposal();
      f(p);
      return JSON.stringify(p);
    };
    const change0 = (p: Record<string, unknown>) => (p.proposed_file_changes as Array<Record<string, unknown>>)[0]!;
    expect(reason(() => decodeProposal('not json'))).toMatch(/proposal is not valid JSON/);
    expect(reason(() => decodeProposal('[]'))).toMatch(/proposal: \(top level\)/);
    expect(reason(() => decodeProposal(mutate((p) => delete p.sender_email)))).toMatch(/proposal: sender_email:/);
    expect(reason(() => decodeProposal(mutate((p) => (p.id = 'nope'))))).toMatch(/proposal: id: expected a UUID/);
    expect(reason(() => decodeProposal(mutate((p) => (change0(p).new_hash = 12))))).toMatch(/proposed_file_changes\[0\]\.new_hash/);
    expect(reason(() => decodeProposal(mutate((p) => (change0(p).submitted_timestamp = '1.5'))))).toMatch(/proposed_file_changes\[0\]\.submitted_timestamp/);
    expect(reason(() => decodeProposal(mutate((p) => (change0(p).path_in_datasite = null))))).toMatch(/proposed_file_changes\[0\]\.path_in_datasite/);
    expect(reason(() => decodeProposal(mutate((p) => (change0(p).content_type = 'weird'))))).toMatch(/proposed_file_changes\[0\]\.content_type/);
    expect(reason(() => decodeProposal(mutate((p) => ((change0(p).content_type = 'binary'), (change0(p).content = 'not base64!')))))).toMatch(
      /proposed_file_changes\[0\]\.content: .*base64/,
    );
    expect(reason(() => decodeProposal(mutate((p) => (p.proposed_file_changes = {}))))).toMatch(/proposed_file_changes:/);
  });

  it('refuses invalid UTF-8 inside the tarball', () => {
    expect(reason(() => unpackProposal(packMessage(Buffer.from([0x7b, 0xff, 0x7d]))))).toMatch(/not valid UTF-8/);
  });

  it('lone surrogates cannot be encoded (pydantic refuses too)', () => {
    const m: ProposedFileChangesMessage = decodeProposal(goldenText('proposal.json'));
    m.proposed_file_changes[0]!.content = 'bad \ud800 text';
    expect(() => encodeProposal(m)).toThrow(/surrogate/);
  });
});

describe('events codec', () => {
  it('decodes the golden message and re-encodes it byte for byte (compact model_dump_json)', () => {
    const text = goldenText('events.json');
    const msg = decodeEvents(text);
    expect(msg.events).toHaveLength(5);
    const del = msg.events[4]!;
    expect(del).toMatchObject({ is_deleted: true, content: null, new_hash: null });
    expect(encodeEvents(msg)).toBe(text);
    expect(eventsMessageFileName(msg)).toBe(goldenText('events.name'));
    expect(() => checkEventsMessageName(msg, goldenText('events.name'))).not.toThrow();
    expect(reason(() => checkEventsMessageName(msg, 'syfteventsmessagev3_1.5_' + msg.message_filepath.id + '.tar.gz'))).toMatch(/says it is/);
  });

  it('unpacks the python tarball', () => {
    expect(encodeEvents(unpackEvents(golden('events.tar.gz')))).toBe(goldenText('events.json'));
  });

  it('events from the golden proposal equal the golden events (keeps id, hashes, submitted_timestamp; new timestamp)', () => {
    const p = decodeProposal(goldenText('proposal.json'));
    const golden = decodeEvents(goldenText('events.json'));
    const made = p.proposed_file_changes.map((c, i) => eventFromProposedChange(c, 1795632164.5732887 + i));
    expect(made).toEqual(golden.events.slice(0, 4));
    const msg = makeEventsMessage([...made, golden.events[4]!], { timestamp: golden.message_filepath.timestamp, id: golden.message_filepath.id });
    expect(encodeEvents(msg)).toBe(goldenText('events.json'));
  });

  it('deletion and change events', () => {
    const d = deletionEvent({ path: 'a/b.txt', datasiteEmail: 'do@x.com', oldHash: 'h', timestamp: 5.5, id: '00000000-0000-4000-8000-000000000001' });
    expect(d).toEqual({
      id: '00000000-0000-4000-8000-000000000001',
      path_in_datasite: 'a/b.txt',
      datasite_email: 'do@x.com',
      content: null,
      old_hash: 'h',
      new_hash: null,
      is_deleted: true,
      submitted_timestamp: 5.5,
      timestamp: 5.5,
    });
    const c = fileChangeEvent({ path: 'a/c.txt', datasiteEmail: 'do@x.com', content: 'hi', oldHash: null });
    expect(c.new_hash).toBe(contentHash('hi'));
    expect(c.timestamp).toBe(c.submitted_timestamp);
    const msg = makeEventsMessage([c, d]);
    const text = encodeEvents(msg);
    expect(text).toContain('"content":null,"old_hash":"h","new_hash":null,"is_deleted":true,"submitted_timestamp":5.5,"timestamp":5.5,"content_type":null}');
    const back = unpackEvents(packEvents(msg));
    expect(back).toEqual(msg);
    expect(parseEventsFileName(eventsMessageFileName(msg))).toEqual({ timestamp: msg.message_filepath.timestamp, id: msg.message_filepath.id });
  });

  it('a proposed deletion becomes a deletion event (Python would write None content)', () => {
    const p = decodeProposal(goldenText('proposal.json')).proposed_file_changes[0]!;
    const e = eventFromProposedChange({ ...p, is_deleted: true, content: null, new_hash: null }, 9);
    expect(e).toMatchObject({ is_deleted: true, content: null, new_hash: null, old_hash: p.old_hash, timestamp: 9 });
  });

  it('errors name the bad key; message_filepath is required', () => {
    const base = JSON.parse(goldenText('events.json')) as Record<string, unknown>;
    const m = (f: (x: Record<string, unknown>) => void) => {
      const x = structuredClone(base);
      f(x);
      return JSON.stringify(x);
    };
    expect(reason(() => decodeEvents(m((x) => delete x.message_filepath)))).toMatch(/events message: message_filepath/);
    expect(reason(() => decodeEvents(m((x) => ((x.message_filepath as Record<string, unknown>).id = 'x'))))).toMatch(/message_filepath\.id/);
    expect(reason(() => decodeEvents(m((x) => ((x.events as Array<Record<string, unknown>>)[2]!.is_deleted = 'no'))))).toMatch(/events\[2\]\.is_deleted/);
    expect(reason(() => decodeEvents(m((x) => ((x.events as Array<Record<string, unknown>>)[1]!.timestamp = 1e999))))).toMatch(/events\[1\]\.timestamp/);
    expect(() => makeEventsMessage([], { id: 'nope' })).toThrow(/UUID/);
    // unknown keys tolerated
    const extra = decodeEvents(m((x) => ((x.future = 1), ((x.events as Array<Record<string, unknown>>)[0]!.future = 2))));
    expect(extra.events).toHaveLength(5);
  });
});
