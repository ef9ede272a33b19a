import { convertLegacyJobs, sanitiseEmail } from '../../lib/config/legacy';
import { parseConfigText } from '../../lib/config/load';
import { fixture } from './helpers';

const HOME = '/home/u/.syft-bg';
const FILE = `${HOME}/config.yaml`;
const parse = (text: string) => parseConfigText(text, FILE, HOME, { userHome: '/home/u' });

describe('legacy approve.jobs (README format) is read as auto-approval objects', () => {
  it('converts the README fixture in memory, one object per peer', () => {
    const l = parse(fixture('legacy-readme.yaml'));
    const objects = l.config.approve.auto_approvals.objects;
    expect(Object.keys(objects)).toEqual(['legacy_alice_uni_edu', 'legacy_bob_co_com']);
    expect(objects.legacy_alice_uni_edu).toEqual({
      file_contents: [
        {
          relative_path: 'main.py',
          path: `${HOME}/auto_approvals/legacy_alice_uni_edu/main.py`,
          hash: 'sha256:a26e3598ea8081b4b13e603b11cb3a409fc3cd569b7299e90fef0743495e7a52',
        },
        {
          relative_path: 'utils.py',
          path: `${HOME}/auto_approvals/legacy_alice_uni_edu/utils.py`,
          hash: 'sha256:13e046f5fd378552636ca050ebb7ac18d762f0b00d6a22b5f54a753736463208',
        },
      ],
      file_paths: [],
      peers: ['alice@uni.edu'],
    });
    expect(objects.legacy_bob_co_com?.peers).toEqual(['bob@co.com']);
    expect(l.legacy?.objects).toEqual({ legacy_alice_uni_edu: objects.legacy_alice_uni_edu, legacy_bob_co_com: objects.legacy_bob_co_com });
    expect(l.legacy?.message).toBe(
      `Legacy approve.jobs.peers in ${FILE} (2 peers) is read as auto-approval objects legacy_alice_uni_edu, legacy_bob_co_com; ` +
        "the next config change writes them into approve.auto_approvals.objects, and they match no job until their files are stored with 'syft-bg auto-approve'.",
    );
    expect(l.legacy?.message).not.toContain('\n');
    // The rest of the README file is honoured; raw keeps the block as written.
    expect(l.config.notify.interval).toBe(30);
    expect(l.config.syftbox_root).toBe('/home/u/SyftBox');
    expect(l.raw).toHaveProperty(['approve', 'jobs', 'peers', 'bob@co.com', 'mode'], 'strict');
  });

  it('merges after existing objects and never overwrites a name', () => {
    const l = parse(
      [
        'approve:',
        '  auto_approvals:',
        '    objects:',
        '      legacy_bob_co_com: {file_contents: [], peers: [x@y.org]}',
        '      mine: {file_contents: [], peers: []}',
        '  jobs:',
        '    peers:',
        '      bob@co.com: {scripts: [{name: a.py, hash: "sha256:0a"}]}',
        '',
      ].join('\n'),
    );
    expect(Object.keys(l.config.approve.auto_approvals.objects)).toEqual(['legacy_bob_co_com', 'mine', 'legacy_bob_co_com_1']);
    expect(l.config.approve.auto_approvals.objects.legacy_bob_co_com?.peers).toEqual(['x@y.org']);
  });

  it('a disabled block converts nothing and says so', () => {
    const l = parse('approve:\n  jobs:\n    enabled: false\n    peers:\n      bob@co.com: {scripts: [{name: a.py, hash: "sha256:0a"}]}\n');
    expect(l.config.approve.auto_approvals.objects).toEqual({});
    expect(l.legacy).toEqual({
      objects: {},
      message: `Legacy approve.jobs in ${FILE} has enabled: false and is ignored (1 peer not converted); remove it, or create auto-approval objects with 'syft-bg auto-approve'.`,
    });
  });

  it('an empty block: nothing to convert, removed on the next write', () => {
    expect(parse('approve:\n  jobs:\n').legacy?.message).toBe(`Legacy approve.jobs in ${FILE} has nothing to convert; the next config change removes it.`);
  });
});

describe('convertLegacyJobs (pure)', () => {
  const jobs = (peers: Record<string, { scripts: { name: string; hash: string }[] } | null>) => ({ enabled: true, peers });
  it('skips peers without scripts (an object without files would approve their empty jobs)', () => {
    const c = convertLegacyJobs(jobs({ 'a@b.io': null, 'c@d.io': { scripts: [] } }), {}, '/aa');
    expect(c).toMatchObject({ objects: {}, skipped: ['a@b.io', 'c@d.io'], peerCount: 2 });
  });
  it('recognises an object converted earlier (same files and peers) instead of adding a copy', () => {
    const existing = { legacy_a_b_io: { file_contents: [{ relative_path: 'x.py', path: '/elsewhere', hash: 'sha256:01' }], peers: ['a@b.io'] } };
    const c = convertLegacyJobs(jobs({ 'a@b.io': { scripts: [{ name: 'x.py', hash: 'sha256:01' }] } }), existing, '/aa');
    expect(c.objects).toEqual({});
    expect(c.alreadyPresent).toEqual(['legacy_a_b_io']);
  });
  it('sanitises e-mails into names', () => {
    expect(sanitiseEmail('alice@uni.edu')).toBe('alice_uni_edu');
    expect(sanitiseEmail('Bob.Smith+ml@Co.COM')).toBe('bob_smith_ml_co_com');
    expect(sanitiseEmail('@@@')).toBe('peer');
  });
});
