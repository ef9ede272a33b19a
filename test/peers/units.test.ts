/**
 * Pure parts of lib/peers: VersionInfo codec (pydantic bytes), the §2.7 compatibility table, SYFT_peers.json
 * merge and Python `json.dumps(indent=2)` bytes, request classification (spoofing), policy, dataset selection.
 * The golden strings below were produced by Python 3 (`json.dumps`, pydantic 2.13 `model_dump_json(indent=2)`).
 */
import { clockAt } from '../../lib/datasite/time';
import type { DriveFile, P2pFolder } from '../../lib/google/drive';
import { compatibilityStatus, folderVersionCompatible, parseVersion, peerVersionVerdict } from '../../lib/peers/compat';
import { datasetTagOf, selectDatasetsToShare } from '../../lib/peers/datasets';
import { encodePeersFile, parsePeersFile, peerStateOf, peerStates, withPeerState } from '../../lib/peers/peers-file';
import { decidePeer, domainOf, incompleteReason, isPending, objectPeerIndex } from '../../lib/peers/policy';
import { classifyPeerRequests, isPlainEmail, listingSignature } from '../../lib/peers/requests';
import { currentVersionInfo, decodeVersionInfo, encodeVersionInfo, SYFT_CLIENT_VERSION } from '../../lib/peers/version';

const DO = 'do@example.com';

describe('VersionInfo', () => {
  it('encodes byte for byte as pydantic model_dump_json(indent=2)', () => {
    const v = currentVersionInfo(clockAt('2026-11-25T18:42:29.704218Z'));
    expect(encodeVersionInfo(v)).toBe(
      '{\n  "syft_client_version": "0.1.117",\n  "min_supported_syft_client_version": "0.1.93",\n  "protocol_version": "1.0.0",\n  "min_supported_protocol_version": "1.0.0",\n  "syft_client_install_source": "syft-client==0.1.117",\n  "updated_at": "2026-11-25T18:42:29.704218Z",\n  "attestation_token": null\n}',
    );
    // pydantic drops a zero microsecond
    expect(currentVersionInfo(clockAt('2026-11-25T18:42:29Z')).updated_at).toBe('2026-11-25T18:42:29Z');
  });

  it('decodes tolerantly and refuses what it cannot compare', () => {
    const text = encodeVersionInfo(currentVersionInfo(clockAt('2026-01-02T03:04:05.000006Z')));
    const d = decodeVersionInfo(text);
    expect(d.ok && d.value.updated_at).toBe('2026-01-02T03:04:05.000006Z');
    expect(d.ok && encodeVersionInfo(d.value)).toBe(text);
    const minimal = decodeVersionInfo('{"syft_client_version":"0.1.100","extra":1}');
    expect(minimal).toEqual({ ok: true, value: expect.objectContaining({ syft_client_version: '0.1.100', attestation_token: null, protocol_version: '' }) });
    for (const bad of ['', 'null', '[]', '{"syft_client_version": 3}', '{"syft_client_version": ""}', '{', 'x'.repeat(70_000)]) {
      const r = decodeVersionInfo(bad, 'peer file');
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toMatch(/^peer file: /);
    }
  });
});

describe('compatibility (§2.7)', () => {
  it('parses versions', () => {
    expect(parseVersion('0.1.117')).toEqual({ major: 0, minor: 1, patch: 117 });
    expect(parseVersion('0.1.118rc1')).toEqual({ major: 0, minor: 1, patch: 118 });
    expect(parseVersion('0.1')).toBeUndefined();
    expect(parseVersion('a.b.c')).toBeUndefined();
  });

  it('status: same / patch_diff / incompatible / unknown', () => {
    expect(compatibilityStatus('0.1.117', '0.1.117')).toBe('same');
    expect(compatibilityStatus('0.1.93', '0.1.117')).toBe('patch_diff');
    expect(compatibilityStatus('0.2.0', '0.1.117')).toBe('incompatible');
    expect(compatibilityStatus('1.1.117', '0.1.117')).toBe('incompatible');
    expect(compatibilityStatus('garbage', '0.1.117')).toBe('incompatible');
    expect(compatibilityStatus(undefined)).toBe('unknown');
    expect(compatibilityStatus(null)).toBe('unknown');
    expect(compatibilityStatus(SYFT_CLIENT_VERSION)).toBe('same');
  });

  it('the decision table, with skip_peer_on_patch_version_diff None → true for a DO', () => {
    const rows: Array<[string | undefined, boolean | null, boolean, boolean, boolean]> = [
      // theirs, skipPatch, force, hasDoRole, proceed
      ['0.1.117', null, false, true, true],
      ['0.1.117', true, false, true, true],
      ['0.1.116', false, false, true, true],
      ['0.1.116', true, false, true, false],
      ['0.1.116', true, true, true, true],
      ['0.1.116', null, false, true, false], // DO default: skip
      ['0.1.116', null, false, false, true], // DS default: proceed
      ['0.1.116', null, true, true, true],
      ['0.2.0', false, false, true, false],
      ['0.2.0', false, true, true, true],
      [undefined, false, false, true, false],
      [undefined, null, true, true, true],
    ];
    for (const [theirs, skip, force, hasDoRole, proceed] of rows) {
      const v = peerVersionVerdict(theirs, { skipPeerOnPatchVersionDiff: skip, forceIgnorePeerVersion: force, hasDoRole }, '0.1.117');
      expect({ theirs, skip, force, hasDoRole, proceed: v.proceed }).toEqual({ theirs, skip, force, hasDoRole, proceed });
      expect(v.reason.length).toBeGreaterThan(5);
    }
    expect(peerVersionVerdict('0.1.116', {}).reason).toMatch(/skip_peer_on_patch_version_diff/);
  });

  it('folder versions need our major.minor', () => {
    expect(folderVersionCompatible('0.1.0', '0.1.117')).toBe(true);
    expect(folderVersionCompatible('0.1.999', '0.1.117')).toBe(true);
    expect(folderVersionCompatible('0.2.117', '0.1.117')).toBe(false);
    expect(folderVersionCompatible('x', '0.1.117')).toBe(false);
  });
});

describe('SYFT_peers.json', () => {
  const PY_GOLDEN =
    '{\n  "ds@example.org": {\n    "state": "accepted"\n  },\n  "b@x.com": {\n    "state": "requested_by_me",\n    "public_encryption_bundle": {\n      "k": "v",\n      "n": [\n        1,\n        2,\n        {}\n      ],\n      "e": []\n    }\n  },\n  "\\u00fcn\\u00ef@x.com": {\n    "state": "rejected",\n    "note": "a\\u007fb\\u00e9\\ud83d\\ude00\\n\\"q\\"\\\\/"\n  },\n  "extra_top": null,\n  "num": 3\n}';

  it('encodes as Python json.dumps(indent=2) (ensure_ascii), round-tripping unknown keys', () => {
    const p = parsePeersFile(PY_GOLDEN);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(encodePeersFile(p.data)).toBe(PY_GOLDEN);
    expect(encodePeersFile({})).toBe('{}');
  });

  it('merges one entry, keeping the others and the entry’s other keys in place', () => {
    const p = parsePeersFile(PY_GOLDEN);
    if (!p.ok) throw new Error(p.error);
    const next = withPeerState(p.data, 'B@X.com', 'accepted');
    expect(Object.keys(next)).toEqual(Object.keys(p.data));
    expect(next['b@x.com']).toEqual({ state: 'accepted', public_encryption_bundle: { k: 'v', n: [1, 2, {}], e: [] } });
    expect(p.data['b@x.com']).toEqual(expect.objectContaining({ state: 'requested_by_me' })); // not mutated
    const added = withPeerState(next, 'new@y.org', 'accepted');
    expect(Object.keys(added).at(-1)).toBe('new@y.org');
    expect(encodePeersFile(added)).toBe(PY_GOLDEN.replace('"requested_by_me"', '"accepted"').replace(/\n}$/, ',\n  "new@y.org": {\n    "state": "accepted"\n  }\n}'));
    expect(peerStateOf(added, 'NEW@y.org')).toBe('accepted');
    expect(peerStates(added).get('ünï@x.com')).toBe('rejected');
    expect(peerStates(added).has('extra_top')).toBe(false);
    // a non-object entry is replaced by a proper one
    expect(withPeerState({ 'z@z.z': 'junk' }, 'z@z.z', 'accepted')).toEqual({ 'z@z.z': { state: 'accepted' } });
  });

  it('parses empty as {} and refuses anything else that is not an object', () => {
    expect(parsePeersFile('')).toEqual({ ok: true, data: {} });
    expect(parsePeersFile(undefined)).toEqual({ ok: true, data: {} });
    expect(parsePeersFile('[1]').ok).toBe(false);
    expect(parsePeersFile('{"a":').ok).toBe(false);
    expect(peerStateOf({ 'a@b.c': { state: 'bogus' } }, 'a@b.c')).toBeUndefined();
  });
});

function folder(name: string, owner: string | string[], id = name, created = '2026-01-01T00:00:00.000Z'): P2pFolder {
  const parts = name.split('#');
  const file: DriveFile = { id, name, createdTime: created, owners: Array.isArray(owner) ? owner : [owner] };
  return { version: parts[1]!, datasite: parts[2]!, type: parts[3] as 'inbox' | 'outbox', peer: parts[4]!, file };
}

describe('request classification', () => {
  it('accepts genuine folders and refuses spoofed, incompatible and odd ones', () => {
    const v = SYFT_CLIENT_VERSION;
    const fs = [
      folder(`syft_datasite#${v}#${DO}#inbox#ds@uni.edu`, 'ds@uni.edu'),
      folder(`syft_datasite#0.1.100#${DO}#outbox#ds@uni.edu`, 'DS@uni.edu'),
      folder(`syft_datasite#${v}#${DO}#inbox#victim@uni.edu`, 'mallory@evil.com'),
      folder(`syft_datasite#${v}#${DO}#inbox#multi@uni.edu`, ['multi@uni.edu', 'x@y.z']),
      folder(`syft_datasite#0.2.0#${DO}#inbox#new@uni.edu`, 'new@uni.edu'),
      folder(`syft_datasite#${v}#${DO}#inbox#half@uni.edu`, 'half@uni.edu'),
      folder(`syft_datasite#${v}#${DO}#inbox#..`, '..'),
      folder(`syft_datasite#${v}#other@x.com#inbox#ds@uni.edu`, 'ds@uni.edu'),
    ];
    const c = classifyPeerRequests(fs, DO, v);
    expect(c.requests.map((r) => [r.email, !!r.inbox, !!r.outbox])).toEqual([
      ['ds@uni.edu', true, true],
      ['half@uni.edu', true, false],
    ]);
    expect(c.refused.map((r) => [r.email, r.code, r.owner]).sort()).toEqual([
      ['..', 'not-an-email', '..'],
      ['multi@uni.edu', 'owner-mismatch', 'multi@uni.edu,x@y.z'],
      ['new@uni.edu', 'incompatible-version', 'new@uni.edu'],
      ['victim@uni.edu', 'owner-mismatch', 'mallory@evil.com'],
    ]);
    expect(c.refused.find((r) => r.email === 'victim@uni.edu')!.reason).toBe(`folder syft_datasite#${v}#${DO}#inbox#victim@uni.edu is named for victim@uni.edu but owned by mallory@evil.com`);
    expect(incompleteReason(c.requests[1]!)).toMatch(/outbox folder/);
    expect(incompleteReason(c.requests[0]!)).toBeUndefined();
    expect(listingSignature(fs)).toBe(listingSignature([...fs].reverse()));
  });

  it('keeps the newest of duplicate genuine folders and reports the rest', () => {
    const a = folder(`syft_datasite#0.1.110#${DO}#inbox#ds@uni.edu`, 'ds@uni.edu', 'a', '2026-01-01T00:00:00Z');
    const b = folder(`syft_datasite#0.1.117#${DO}#inbox#ds@uni.edu`, 'ds@uni.edu', 'b', '2026-02-01T00:00:00Z');
    const c = classifyPeerRequests([b, a], DO);
    expect(c.requests[0]!.inbox!.file.id).toBe('b');
    expect(c.requests[0]!.extra.map((f) => f.file.id)).toEqual(['a']);
  });

  it('plain e-mail addresses only', () => {
    expect(isPlainEmail('ds@uni.edu')).toBe(true);
    for (const bad of ['nope', 'a@b@c', 'a b@c', "o'neil@x.com", 'a/b@c', '../x@y', 'x@y.', '']) expect(isPlainEmail(bad)).toBe(false);
  });
});

describe('policy', () => {
  const idx = objectPeerIndex(new Map([
    ['lab', { peers: ['Carol@Lab.org', 'dave@lab.org'] }],
    ['any', { peers: [] }],
    ['two', { peers: ['dave@lab.org'] }],
  ]));

  it('indexes object peers (empty peers add nothing)', () => {
    expect([...idx.entries()]).toEqual([
      ['carol@lab.org', ['lab']],
      ['dave@lab.org', ['lab', 'two']],
    ]);
    expect(objectPeerIndex({ o: { peers: ['x@y.z'] } }).get('x@y.z')).toEqual(['o']);
    expect(objectPeerIndex(undefined).size).toBe(0);
  });

  it('approves by object e-mail or by enabled domain, exact domain only', () => {
    const cfg = { enabled: true, approved_domains: ['Uni.edu'] };
    expect(decidePeer('ds@uni.edu', cfg, idx)).toEqual({ approve: true, via: 'domain', domain: 'uni.edu', reason: 'domain uni.edu is in approve.peers.approved_domains' });
    expect(decidePeer('ds@cs.uni.edu', cfg, idx).approve).toBe(false);
    expect(decidePeer('ds@uni.edu.evil.com', cfg, idx).approve).toBe(false);
    expect(decidePeer('carol@lab.org', cfg, idx)).toMatchObject({ approve: true, via: 'object', objects: ['lab'] });
    expect(decidePeer('dave@lab.org', { enabled: false, approved_domains: [] }, idx)).toMatchObject({ approve: true, via: 'object', objects: ['lab', 'two'] });
    const off = decidePeer('ds@uni.edu', { enabled: false, approved_domains: ['uni.edu'] }, idx);
    expect(off).toEqual({ approve: false, domain: 'uni.edu', reason: 'domain uni.edu is in approve.peers.approved_domains, but approve.peers.enabled is false' });
    expect(decidePeer('x@other.org', cfg, idx).reason).toBe('domain other.org not in approve.peers.approved_domains, and not listed in any auto-approval object');
    expect(decidePeer('x@other.org', { enabled: true, approved_domains: [] }, idx).reason).toMatch(/approved_domains is empty/);
    expect(domainOf('A@B.Org')).toBe('b.org');
  });

  it('pending = no entry (or requested_by_peer)', () => {
    expect(isPending(undefined)).toBe(true);
    expect(isPending('requested_by_peer')).toBe(true);
    expect(isPending('accepted')).toBe(false);
    expect(isPending('rejected')).toBe(false);
    expect(isPending('requested_by_me')).toBe(false);
  });
});

describe('dataset collections', () => {
  it('shares "any"-tagged collections and the named ones; reports missing names', () => {
    expect(datasetTagOf('syft_datasetcollection_census_2020_0123456789ab')).toBe('census_2020');
    expect(datasetTagOf('syft_datasetcollection_census')).toBeUndefined();
    const cols: DriveFile[] = [
      { id: '1', name: 'syft_datasetcollection_census_0123456789ab', appProperties: { syft_shared_with_any: 'true' } },
      { id: '2', name: 'syft_datasetcollection_health_aaaaaaaaaaaa' },
      { id: '3', name: 'syft_datasetcollection_secret_bbbbbbbbbbbb' },
    ];
    const s = selectDatasetsToShare(cols, ['health', 'nope']);
    expect(s.share.map((x) => [x.tag, x.why])).toEqual([
      ['census', 'any'],
      ['health', 'auto_share_datasets'],
    ]);
    expect(s.missing).toEqual(['nope']);
  });
});
