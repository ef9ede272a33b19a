/**
 * The pure parts and the local-disk parts of the owner sync engine: change summaries, proposal ordering and
 * judging, local diffs, the stat-cache scan, the journal, and safe target paths.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { summarizeChanges, pollChanges } from '../../lib/sync/change-poller';
import { judgeProposal, proposalsInOrder, QuarantineError } from '../../lib/sync/pull';
import { diffLocal, fileContent } from '../../lib/sync/publish';
import { scanDatasite } from '../../lib/sync/scan';
import { Journal } from '../../lib/sync/journal';
import { safeTarget, UnsafePathError } from '../../lib/sync/deliver';
import { latestPerPath } from '../../lib/sync/state-log';
import { suffixedFolderVersion } from '../../lib/sync/folders';
import { isNormalSyncable } from '../../lib/sync/codec/paths';
import { makeProposal } from '../../lib/sync/codec/proposal';
import type { RuleSet } from '../../lib/datasite/permissions';
import { GoogleApiError } from '../../lib/google/retry';
import type { FileChangeEvent } from '../../lib/sync/codec/events';

const DO = 'do@example.org';
const DS = 'ds@example.com';
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'owner-units-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('change feed', () => {
  test('summarizeChanges: parents touched, gone files, folders', () => {
    const s = summarizeChanges([
      { fileId: 'a', removed: false, file: { id: 'a', name: 'msgv2_1.0_x.tar.gz', parents: ['inbox1'] } },
      { fileId: 'b', removed: true },
      { fileId: 'c', removed: false, file: { id: 'c', name: 'old', parents: ['inbox2'], trashed: true } },
      { fileId: 'd', removed: false, file: { id: 'd', name: `syft_datasite#0.1.117#${DO}#inbox#${DS}`, mimeType: 'application/vnd.google-apps.folder', parents: ['root'] } },
    ]);
    expect([...s.touchedParents].sort()).toEqual(['inbox1', 'inbox2', 'root']);
    expect([...s.gone].sort()).toEqual(['b', 'c']);
    expect(s.folders.map((f) => f.id)).toEqual(['d']);
    expect([...s.names].sort()).toEqual(['msgv2_1.0_x.tar.gz', `syft_datasite#0.1.117#${DO}#inbox#${DS}`]);
    expect(s.count).toBe(4);
  });

  test('pollChanges: no token or a refused token is a reset with a fresh token', async () => {
    const calls: string[] = [];
    const drive = {
      getStartPageToken: async () => (calls.push('start'), '42'),
      listChanges: async (t: string) => {
        calls.push(`list ${t}`);
        if (t === 'bad') throw new GoogleApiError({ route: 'drive.changes.list', status: 400, message: 'Invalid Value' });
        if (t === 'boom') throw new GoogleApiError({ route: 'drive.changes.list', status: 500, message: 'backend' });
        return { changes: [], newStartPageToken: '43' };
      },
    };
    expect(await pollChanges(drive, undefined)).toMatchObject({ kind: 'reset', token: '42' });
    expect(await pollChanges(drive, '7')).toMatchObject({ kind: 'incremental', token: '43' });
    expect(await pollChanges(drive, 'bad')).toMatchObject({ kind: 'reset', token: '42' });
    await expect(pollChanges(drive, 'boom')).rejects.toThrow('backend');
    expect(calls).toEqual(['start', 'list 7', 'list bad', 'start', 'list boom']);
  });
});

describe('proposals', () => {
  test('proposalsInOrder: by timestamp (not by name), skipping foreign names, folders and skipped ids', () => {
    const f = (id: string, name: string, mimeType?: string) => ({ id, name, ...(mimeType ? { mimeType } : {}) });
    const items = proposalsInOrder(
      [
        f('1', 'msgv2_1795632149.53_aaaa.tar.gz'),
        f('2', 'msgv2_1795632149.5_bbbb.tar.gz'),
        f('3', 'notes.txt'),
        f('4', 'msgv2_1795632148.9_cccc.tar.gz'),
        f('5', 'msgv2_1795632100.0_dddd.tar.gz'),
        f('6', 'msgv2_1795632000.0_eeee.tar.gz', 'application/vnd.google-apps.folder'),
      ],
      (id) => id === '5',
    );
    expect(items.map((i) => i.file.id)).toEqual(['4', '2', '1']);
  });

  const rules = new Map<string, RuleSet>([
    [`app_data/job/inbox/${DS}`, { rules: [{ pattern: '**', access: { admin: [], read: [], write: [DS] } }], terminal: false }],
    [`app_data/job/review/${DS}`, { rules: [{ pattern: '**', access: { admin: [], read: [DS], write: [] } }], terminal: false }],
  ]);
  const inbox = (f: string) => `app_data/job/inbox/${DS}/${f}`;

  test('judgeProposal: drops what the sender may not write, keeps the rest', () => {
    const m = makeProposal({
      senderEmail: 'someone-else@example.org', // ignored: the inbox owner is the sender
      datasiteEmail: DO,
      files: [
        { path: inbox('j/run.sh'), content: 'a' },
        { path: `app_data/job/review/${DS}/j/state.yaml`, content: 'b' },
        { path: inbox('syft.pub.yaml'), content: 'c' },
        { path: inbox('.venv/x.py'), content: 'd' },
      ],
    });
    const other = makeProposal({ senderEmail: DS, datasiteEmail: 'other@example.org', files: [{ path: inbox('j/x'), content: 'e' }] });
    const v = judgeProposal([...m.proposed_file_changes, ...other.proposed_file_changes], { me: DO, sender: DS, rules, hashes: new Map() });
    expect(v.accepted.map((c) => c.path_in_datasite)).toEqual([inbox('j/run.sh')]);
    expect(v.dropped.map((d) => d.path)).toEqual([`app_data/job/review/${DS}/j/state.yaml`, inbox('syft.pub.yaml'), inbox('.venv/x.py'), inbox('j/x')]);
    // another sender may not write into this inbox at all
    expect(judgeProposal(m.proposed_file_changes.slice(0, 1), { me: DO, sender: 'eve@example.org', rules, hashes: new Map() }).accepted).toEqual([]);
  });

  test('judgeProposal: hostile paths and conflicts refuse the whole message', () => {
    const judge = (files: Array<{ path: string; content: string; oldHash?: string | null }>, hashes = new Map<string, string | null>()) =>
      judgeProposal(makeProposal({ senderEmail: DS, datasiteEmail: DO, files }).proposed_file_changes, { me: DO, sender: DS, rules, hashes });
    for (const bad of [inbox('../../../../x'), `/etc/passwd`, inbox('a\\b'), inbox('a//b'), inbox('a\u0001b')]) {
      expect(() => judge([{ path: inbox('ok'), content: 'x' }, { path: bad, content: 'x' }])).toThrow(QuarantineError);
    }
    const known = new Map([[inbox('f'), sha('v1')]]);
    expect(() => judge([{ path: inbox('f'), content: 'v2' }], known)).toThrow(/conflict.*old_hash null/);
    expect(() => judge([{ path: inbox('f'), content: 'v2', oldHash: sha('other') }], known)).toThrow(/conflict/);
    expect(() => judge([{ path: inbox('g'), content: 'v2', oldHash: sha('v1') }], known)).toThrow(/not known here/);
    expect(judge([{ path: inbox('f'), content: 'v2', oldHash: sha('v1') }], known).accepted).toHaveLength(1);
    const lying = makeProposal({ senderEmail: DS, datasiteEmail: DO, files: [{ path: inbox('h'), content: 'x' }] }).proposed_file_changes;
    lying[0]!.new_hash = sha('y');
    expect(() => judgeProposal(lying, { me: DO, sender: DS, rules, hashes: new Map() })).toThrow(/new_hash/);
  });
});

describe('local changes', () => {
  test('diffLocal: changed, new and deleted files; unreadable and non-syncable paths are not deletions', () => {
    const files = new Map([
      ['a', { hash: 'h1', size: 1 }],
      ['b', { hash: 'h2-new', size: 1 }],
      ['c', { hash: 'h3', size: 1 }],
    ]);
    const published = new Map<string, string | null>([
      ['a', 'h1'],
      ['b', 'h2'],
      ['gone', 'h4'],
      ['big', 'h5'],
      ['private/p', 'h6'],
      ['null', null],
    ]);
    expect(diffLocal(files, published, new Set(['big']))).toEqual({ changed: ['b', 'c'], deleted: ['gone'] });
  });

  test('fileContent: text when valid UTF-8, bytes otherwise', () => {
    expect(fileContent(Buffer.from('héllo\n'))).toBe('héllo\n');
    const bin = Buffer.from([0xff, 0xfe, 0x00]);
    expect(fileContent(bin)).toEqual(bin);
  });

  test('scanDatasite hashes only new or changed files, never follows symlinks, skips excluded and temp files', () => {
    const ds = path.join(tmp, 'ds');
    fs.mkdirSync(path.join(ds, 'app', '.venv'), { recursive: true });
    fs.mkdirSync(path.join(ds, 'private'), { recursive: true });
    fs.writeFileSync(path.join(ds, 'app', 'a.txt'), 'a');
    fs.writeFileSync(path.join(ds, 'app', 'b.txt'), 'b');
    fs.writeFileSync(path.join(ds, 'app', '.venv', 'x.py'), 'x');
    fs.writeFileSync(path.join(ds, 'private', 'secret'), 's');
    fs.writeFileSync(path.join(ds, 'app', '.a.txt.123.456.0.tmp'), 'partial');
    fs.writeFileSync(path.join(tmp, 'outside.txt'), 'o');
    fs.symlinkSync(path.join(tmp, 'outside.txt'), path.join(ds, 'app', 'link.txt'));
    fs.symlinkSync(tmp, path.join(ds, 'app', 'linkdir'));
    fs.writeFileSync(path.join(ds, 'app', 'big.bin'), Buffer.alloc(2000));
    const opts = { syncable: isNormalSyncable, maxFileBytes: 1000, now: Date.now() + 10_000 };
    const s1 = scanDatasite(ds, {}, opts);
    expect([...s1.files.keys()].sort()).toEqual(['app/a.txt', 'app/b.txt']);
    expect(s1.files.get('app/a.txt')!.hash).toBe(sha('a'));
    expect(s1.hashed).toBe(2);
    expect(s1.skipped.map((x) => x.path)).toEqual(['app/big.bin']);
    const s2 = scanDatasite(ds, s1.cache, opts);
    expect(s2.hashed).toBe(0);
    fs.writeFileSync(path.join(ds, 'app', 'b.txt'), 'bb');
    const s3 = scanDatasite(ds, s2.cache, opts);
    expect(s3.hashed).toBe(1);
    expect(s3.files.get('app/b.txt')!.hash).toBe(sha('bb'));
    // a file changed within the racy window is hashed again next time even if its stat looks the same
    const racy = scanDatasite(ds, {}, { ...opts, now: Date.now() });
    expect(Object.values(racy.cache).every((e) => e.racy)).toBe(true);
    expect(scanDatasite(ds, racy.cache, opts).hashed).toBe(2);
  });

  test('latestPerPath keeps one event per path, the last', () => {
    const ev = (id: string, p: string) => ({ id, path_in_datasite: p }) as FileChangeEvent;
    expect(latestPerPath([ev('1', 'a'), ev('2', 'b'), ev('3', 'a')]).map((e) => e.id)).toEqual(['3', '2']);
  });
});

describe('journal and disk safety', () => {
  test('entries survive a reload in order; payloads of uncommitted entries and corrupt entries are set aside', () => {
    const dir = path.join(tmp, 'journal');
    const j = new Journal(dir);
    const a = j.create({ kind: 'local', createdAt: 1, uploads: [{ target: { kind: 'log' }, name: 'n1', blob: 0 }], hashes: { x: 'h' } }, [Buffer.from('one')]);
    const b = j.create({ kind: 'local', createdAt: 2, uploads: [], hashes: {} }, [Buffer.from('two'), Buffer.from('three')]);
    fs.writeFileSync(path.join(dir, '0000000099-orphan.0.bin'), 'left over');
    fs.writeFileSync(path.join(dir, '0000000098-bad.json'), '{"nope": ');
    const j2 = new Journal(dir);
    const errors: string[] = [];
    const loaded = j2.load((f) => errors.push(path.basename(f)));
    expect(loaded.map((e) => e.id)).toEqual([a.id, b.id]);
    expect(j2.blob(loaded[1]!, 1).toString()).toBe('three');
    expect(errors).toEqual(['0000000098-bad.json']);
    expect(fs.existsSync(path.join(dir, '0000000099-orphan.0.bin'))).toBe(false);
    expect(fs.existsSync(path.join(dir, '0000000098-bad.json.corrupt'))).toBe(true);
    // new entries continue the sequence
    expect(j2.create({ kind: 'local', createdAt: 3, uploads: [], hashes: {} }, []).seq).toBe(b.seq + 1);
    j2.remove(loaded[0]!);
    expect(new Journal(dir).load().map((e) => e.id)).toEqual([b.id, expect.any(String)]);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith(path.basename(j.blobPath(a, 0)).split('.')[0]!))).toEqual([]);
  });

  test('safeTarget refuses symlinks on the way, non-folders as parents and bad components', () => {
    const ds = path.join(tmp, 'ds');
    fs.mkdirSync(path.join(ds, 'a'), { recursive: true });
    fs.symlinkSync(tmp, path.join(ds, 'link'));
    fs.writeFileSync(path.join(ds, 'file'), 'x');
    fs.symlinkSync(path.join(tmp, 'x'), path.join(ds, 'a', 'target'));
    expect(safeTarget(ds, 'a/new/file.txt')).toBe(path.join(ds, 'a', 'new', 'file.txt'));
    for (const bad of ['link/evil.txt', 'file/under', 'a/target', '../x', 'a/../../x', '/abs']) {
      expect(() => safeTarget(ds, bad)).toThrow(UnsafePathError);
    }
  });

  test('folder names with a compatible version only', () => {
    expect(suffixedFolderVersion(`${DO}-0.1.99-checkpoints`, DO, 'checkpoints')).toBe('0.1.99');
    expect(suffixedFolderVersion(`${DO}-0.2.0-checkpoints`, DO, 'checkpoints')).toBeUndefined();
    expect(suffixedFolderVersion(`${DO}-0.1.99-rolling-state`, DO, 'checkpoints')).toBeUndefined();
    expect(suffixedFolderVersion(`x${DO}-0.1.99-checkpoints`, DO, 'checkpoints')).toBeUndefined();
  });
});
