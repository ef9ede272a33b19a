import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSandbox, Sandbox } from '../helpers/sandbox';

/**
 * auto-approve, list-auto-approvals, remove-auto-approval, remove-peer through the built CLI binary with a temp
 * HOME (reference §2.10–§2.13 output formats, with the reference's bugs fixed).
 */

const sha = (s: string) => 'sha256:' + crypto.createHash('sha256').update(s).digest('hex');
const NO_STACK = /\n\s+at .+:\d+:\d+/;

function write(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
}

const MAIN = 'print("hello")\n';
const DEEP = 'x = 2\n';
const PARAMS = '{"alpha": 1}\n';

describe('auto-approve, list-auto-approvals, remove-auto-approval, remove-peer (built binary)', () => {
  let sb: Sandbox;
  let cfg: string;
  let proj: string;
  const store = () => path.join(sb.syftBgHome, 'auto_approvals');
  const config = () => fs.readFileSync(cfg, 'utf8');
  const ok = (args: string[]) => {
    const r = sb.cli(args);
    if (r.code !== 0) throw new Error(`syft-bg ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const listJson = () => JSON.parse(ok(['list-auto-approvals', '--json'])) as { enabled: boolean; objects: Array<{ name: string; file_contents: Array<{ relative_path: string; path: string; hash: string }>; file_paths: string[]; peers: string[]; allowed_dependencies?: string[] }> };

  beforeEach(() => {
    sb = makeSandbox('aa');
    ok(['init', '-e', 'do@example.com', '-r', path.join(sb.dir, 'box')]);
    cfg = path.join(sb.syftBgHome, 'config.yaml');
    // The sandbox runs the CLI with cwd = sb.dir: `proj/...` below is relative to it.
    proj = path.join(sb.dir, 'proj');
    write(proj, { 'main.py': MAIN, 'sub/deep.py': DEEP, 'params.json': PARAMS });
  });
  afterEach(() => sb.cleanup());

  it('creates an object from one file: the reference output, the stored copy and the text hash', () => {
    const r = sb.cli(['auto-approve', 'proj/main.py', '-p', 'alice@uni.edu']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Auto-approval object: main\n  main.py\nPeers: alice@uni.edu\nCreated auto-approval object 'main'.\n");
    const stored = path.join(store(), 'main', 'main.py');
    expect(fs.readFileSync(stored, 'utf8')).toBe(MAIN);
    const [o] = listJson().objects;
    expect(o).toEqual({ name: 'main', file_contents: [{ relative_path: 'main.py', path: stored, hash: sha(MAIN) }], file_paths: [], peers: ['alice@uni.edu'] });
    // The file in config.yaml, key for key as the Python tool writes it.
    expect(config()).toContain(`objects:\n      main:\n        file_contents:\n        - relative_path: main.py\n          path: ${stored}\n          hash: ${sha(MAIN)}\n        file_paths: []\n        peers:\n        - alice@uni.edu\n`);
  });

  it('a directory: files relative to it, sorted; -f makes a file name-only even inside it; several -p; no -p = (any)', () => {
    const r = sb.cli(['auto-approve', 'proj', '-f', 'params.json', '-p', 'a@x.org', '-p', 'b@y.org']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Auto-approval object: auto_approval\n  main.py\n  sub/deep.py\nPeers: a@x.org, b@y.org\nAllowed files: params.json\n' +
        "Created auto-approval object 'auto_approval'.\n",
    );
    const any = sb.cli(['auto-approve', 'proj/sub/deep.py']);
    expect(any.stdout).toBe("Auto-approval object: deep\n  deep.py\nPeers: (any)\nCreated auto-approval object 'deep'.\n");
    const objs = listJson().objects;
    expect(objs.map((o) => o.name)).toEqual(['auto_approval', 'deep']);
    expect(objs[0]?.file_contents.map((e) => e.relative_path)).toEqual(['main.py', 'sub/deep.py']);
    expect(objs[0]?.file_paths).toEqual(['params.json']);
    expect(fs.existsSync(path.join(store(), 'auto_approval', 'params.json'))).toBe(false);
  });

  it('-b resolves CONTENTS against the base dir (not the CWD), normalised; escapes and missing files are named', () => {
    expect(fs.existsSync(path.join(sb.dir, 'sub', 'deep.py'))).toBe(false); // the reference failed here (exit 2)
    const r = sb.cli(['auto-approve', 'sub/deep.py', './main.py', '-b', 'proj', '-n', 'based']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Auto-approval object: based\n  sub/deep.py\n  main.py\nPeers: (any)\nCreated auto-approval object 'based'.\n");
    expect(fs.readFileSync(path.join(store(), 'based', 'sub', 'deep.py'), 'utf8')).toBe(DEEP);
    // A directory under -b keeps its path below the base.
    expect(ok(['auto-approve', 'sub', '-b', 'proj', '-n', 'subdir'])).toContain('  sub/deep.py\n');

    const out = sb.cli(['auto-approve', '../outside.py', '-b', 'proj']);
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(`Error: Path '../outside.py' is outside the base directory ${proj}\n`);
    const missing = sb.cli(['auto-approve', 'nope.py', '-b', 'proj']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`Error: File not found: ${path.join(proj, 'nope.py')}\n`);
    const noBase = sb.cli(['auto-approve', 'main.py', '-b', 'nodir']);
    expect(noBase.code).toBe(1);
    expect(noBase.stderr).toBe(`Error: Base directory not found: ${path.join(sb.dir, 'nodir')}\n`);
    expect(listJson().objects.map((o) => o.name)).toEqual(['based', 'subdir']);
  });

  it('-n with an existing name updates the object (no NAME_1): files added/replaced, peers merged; auto names still get _1', () => {
    ok(['auto-approve', 'proj/main.py', '-n', 'analysis', '-p', 'a@x.org']);
    const upd = sb.cli(['auto-approve', 'proj/sub/deep.py', '-n', 'analysis', '-p', 'b@y.org', '-f', 'params.json']);
    expect(upd.code).toBe(0);
    expect(upd.stdout).toBe(
      'Auto-approval object: analysis (updated)\n  main.py\n  deep.py\nPeers: a@x.org, b@y.org\nAllowed files: params.json\n' +
        "Updated auto-approval object 'analysis' (added deep.py).\n",
    );
    // Same file again: nothing changes; a new content replaces the entry in place.
    expect(ok(['auto-approve', 'proj/main.py', '-n', 'analysis'])).toContain("Updated auto-approval object 'analysis' (unchanged main.py).\n");
    fs.writeFileSync(path.join(proj, 'main.py'), 'print("v2")\n');
    expect(ok(['auto-approve', 'proj/main.py', '-n', 'analysis'])).toContain("Updated auto-approval object 'analysis' (replaced main.py).\n");
    const objs = listJson().objects;
    expect(objs.map((o) => o.name)).toEqual(['analysis']);
    expect(objs[0]?.file_contents.map((e) => [e.relative_path, e.hash])).toEqual([
      ['main.py', sha('print("v2")\n')],
      ['deep.py', sha(DEEP)],
    ]);
    expect(objs[0]?.peers).toEqual(['a@x.org', 'b@y.org']);
    expect(fs.readFileSync(path.join(store(), 'analysis', 'main.py'), 'utf8')).toBe('print("v2")\n');
    // Auto-generated names never merge (reference): main, then main_1.
    expect(ok(['auto-approve', 'proj/main.py'])).toContain("Created auto-approval object 'main'.");
    expect(ok(['auto-approve', 'proj/main.py'])).toContain("Created auto-approval object 'main_1'.");
  });

  it('--allow-dependency is recorded and shown', () => {
    const out = ok(['auto-approve', 'proj/main.py', '-n', 'np', '--allow-dependency', 'numpy==2.1.0', '--allow-dependency', 'pandas']);
    expect(out).toBe("Auto-approval object: np\n  main.py\nPeers: (any)\nAllowed dependencies: numpy==2.1.0, pandas\nCreated auto-approval object 'np'.\n");
    expect(listJson().objects[0]?.allowed_dependencies).toEqual(['numpy==2.1.0', 'pandas']);
  });

  it('list-auto-approvals: empty, the reference layout ({rel:<30} {hash}), -n, unknown -n, --json', () => {
    const empty = sb.cli(['list-auto-approvals']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('No auto-approval objects configured.\n');
    expect(JSON.parse(ok(['list-auto-approvals', '--json']))).toEqual({ config: cfg, enabled: true, objects: [] });

    ok(['auto-approve', 'proj', '-n', 'analysis', '-f', 'params.json', '-p', 'a@x.org', '-p', 'b@y.org']);
    ok(['auto-approve', '-n', 'names', '-f', 'params.json']);
    const list = sb.cli(['list-auto-approvals']);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe(
      [
        '',
        '[analysis]',
        '  File contents:',
        `    main.py                        ${sha(MAIN)}`,
        `    sub/deep.py                    ${sha(DEEP)}`,
        '  Allowed files: params.json',
        '  Peers: a@x.org, b@y.org',
        '',
        '[names]',
        '  File contents: (none)',
        '  Allowed files: params.json',
        '  Peers: (any)',
        '',
        '',
      ].join('\n'),
    );
    expect(ok(['list-auto-approvals', '-n', 'names'])).toBe('\n[names]\n  File contents: (none)\n  Allowed files: params.json\n  Peers: (any)\n\n');
    const unknown = sb.cli(['list-auto-approvals', '-n', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe("Error: Auto-approval object 'nope' not found.\n");
    const j = JSON.parse(ok(['list-auto-approvals', '-n', 'analysis', '--json']));
    expect(j.objects).toEqual([
      {
        name: 'analysis',
        file_contents: [
          { relative_path: 'main.py', path: path.join(store(), 'analysis', 'main.py'), hash: sha(MAIN) },
          { relative_path: 'sub/deep.py', path: path.join(store(), 'analysis', 'sub', 'deep.py'), hash: sha(DEEP) },
        ],
        file_paths: ['params.json'],
        peers: ['a@x.org', 'b@y.org'],
      },
    ]);
  });

  it('says when auto-approval is disabled', () => {
    ok(['auto-approve', 'proj/main.py']);
    fs.writeFileSync(cfg, config().replace(/(auto_approvals:\n\s+enabled:) true/, '$1 false'));
    const note = `Note: auto-approval is disabled (approve.auto_approvals.enabled: false in ${cfg}): no job is auto-approved until it is enabled.`;
    expect(ok(['list-auto-approvals']).split('\n')[0]).toBe(note);
    expect(JSON.parse(ok(['list-auto-approvals', '--json'])).enabled).toBe(false);
    expect(ok(['auto-approve', 'proj/sub/deep.py']).trimEnd().split('\n').pop()).toBe(note);
  });

  it('remove-auto-approval FILES -n NAME: counts, deletes the stored copies, names files not there; unknown object exit 1', () => {
    ok(['auto-approve', 'proj', '-n', 'analysis', '-f', 'params.json']);
    const r = sb.cli(['remove-auto-approval', 'sub/deep.py', 'params.json', 'ghost.py', '-n', 'analysis']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Removed 2 file(s) from 'analysis'.\nNot in 'analysis': ghost.py\n");
    expect(fs.existsSync(path.join(store(), 'analysis', 'sub', 'deep.py'))).toBe(false);
    expect(fs.existsSync(path.join(store(), 'analysis', 'main.py'))).toBe(true);
    const o = listJson().objects[0];
    expect(o?.file_contents.map((e) => e.relative_path)).toEqual(['main.py']);
    expect(o?.file_paths).toEqual([]);
    // Removing the last file keeps the (now empty) object and says what that means.
    expect(ok(['remove-auto-approval', './main.py', '-n', 'analysis'])).toBe(
      "Removed 1 file(s) from 'analysis'.\n'analysis' has no files left: it matches no job until files are added.\n",
    );
    expect(ok(['remove-auto-approval', 'main.py', '-n', 'analysis'])).toBe("Removed 0 file(s) from 'analysis'.\nNot in 'analysis': main.py\n");
    expect(listJson().objects.map((x) => x.name)).toEqual(['analysis']);

    const unknown = sb.cli(['remove-auto-approval', 'main.py', '-n', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("Error: Auto-approval object 'nope' not found in config.\n");
  });

  it('remove-auto-approval -n NAME --all deletes the object and its stored copies; usage errors exit 2', () => {
    ok(['auto-approve', 'proj', '-n', 'analysis']);
    ok(['auto-approve', 'proj/main.py', '-n', 'keep']);
    const dir = path.join(store(), 'analysis');
    expect(fs.existsSync(dir)).toBe(true);
    const r = sb.cli(['remove-auto-approval', '-n', 'analysis', '--all']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Removed auto-approval object 'analysis'.\nDeleted its stored copies (${dir}).\n`);
    expect(fs.existsSync(dir)).toBe(false);
    expect(listJson().objects.map((o) => o.name)).toEqual(['keep']);
    expect(fs.existsSync(path.join(store(), 'keep', 'main.py'))).toBe(true);

    const again = sb.cli(['remove-auto-approval', '-n', 'analysis', '--all']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("Error: Auto-approval object 'analysis' not found in config.\n");
    const both = sb.cli(['remove-auto-approval', 'main.py', '-n', 'keep', '--all']);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe("Error: --all removes the whole object 'keep'; do not name files with it\n");
    const none = sb.cli(['remove-auto-approval', '-n', 'keep']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("missing argument 'FILES...'");
    const noName = sb.cli(['remove-auto-approval', 'main.py']);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain("required option '-n, --name <name>' not specified");
    expect(listJson().objects.map((o) => o.name)).toEqual(['keep']);
  });

  it('remove-peer: removes from every object; refuses to remove a last peer unless --allow-any-peer', () => {
    ok(['auto-approve', 'proj/main.py', '-n', 'two', '-p', 'a@x.org', '-p', 'b@y.org']);
    ok(['auto-approve', 'proj/sub/deep.py', '-n', 'only-b', '-p', 'b@y.org']);
    ok(['auto-approve', 'proj/params.json', '-n', 'also-a', '-p', 'a@x.org', '-p', 'c@z.org']);
    const r = sb.cli(['remove-peer', 'a@x.org']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Removed peer a@x.org from 2 object(s).\n');
    const peers = () => Object.fromEntries(listJson().objects.map((o) => [o.name, o.peers]));
    expect(peers()).toEqual({ two: ['b@y.org'], 'only-b': ['b@y.org'], 'also-a': ['c@z.org'] });

    const before = config();
    const refused = sb.cli(['remove-peer', 'b@y.org']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      "Error: Refusing to remove peer b@y.org: it is the only peer of 'two', 'only-b', and an auto-approval object without peers approves jobs from ANY peer.",
    );
    expect(refused.stderr).toContain('syft-bg remove-auto-approval -n two --all');
    expect(refused.stderr).toContain('add --allow-any-peer');
    expect(config()).toBe(before);
    // -n limits the refusal (and the removal) to that object.
    expect(sb.cli(['remove-peer', 'b@y.org', '-n', 'only-b']).stderr).toContain("it is the only peer of 'only-b',");

    const allowed = sb.cli(['remove-peer', 'b@y.org', '-n', 'only-b', '--allow-any-peer']);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toBe("Removed peer b@y.org from 1 object(s).\nWarning: 'only-b' has no peers left: it now matches jobs from any peer.\n");
    expect(peers()).toEqual({ two: ['b@y.org'], 'only-b': [], 'also-a': ['c@z.org'] });

    const missing = sb.cli(['remove-peer', 'zz@q.org']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('Error: Peer zz@q.org not found in any auto-approval object.\n');
    const unknown = sb.cli(['remove-peer', 'c@z.org', '-n', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("Error: Auto-approval object 'nope' not found.\n");
  });

  it('keeps comments, blank lines and unknown keys of config.yaml across every edit', () => {
    const marked = config()
      .replace(/^approve:/m, '# auto-approval: reviewed weekly\napprove:  # the approve service')
      .replace(/\n$/, '\n\n# trailing note\nmy_extension:\n  keep: me\n');
    fs.writeFileSync(cfg, marked);
    const keep = () => {
      const t = config();
      expect(t).toContain('# auto-approval: reviewed weekly\napprove:  # the approve service\n');
      expect(t).toContain('\n\n# trailing note\nmy_extension:\n  keep: me\n');
    };
    ok(['auto-approve', 'proj', '-n', 'analysis', '-p', 'a@x.org', '-p', 'b@y.org']);
    keep();
    ok(['auto-approve', 'proj/params.json', '-n', 'analysis']);
    keep();
    ok(['remove-auto-approval', 'params.json', '-n', 'analysis']);
    keep();
    ok(['remove-peer', 'a@x.org']);
    keep();
    ok(['remove-auto-approval', '-n', 'analysis', '--all']);
    keep();
    expect(ok(['list-auto-approvals'])).toBe('No auto-approval objects configured.\n');
  });

  describe('a legacy config (approve.jobs.peers): the first command that rewrites config.yaml migrates it and says so once', () => {
    const LEGACY = path.join(__dirname, '..', 'fixtures', 'config', 'legacy-readme.yaml');
    const notice = () =>
      `Migrated legacy approve.jobs.peers (2 peers) into auto-approval objects legacy_alice_uni_edu, legacy_bob_co_com in ${cfg}; ` +
      "add their files with 'syft-bg auto-approve' to store copies.";
    beforeEach(() => fs.copyFileSync(LEGACY, cfg));

    it('auto-approve FILE -n x: the notice line first, once; the next command prints nothing about it', () => {
      const first = sb.cli(['auto-approve', 'proj/main.py', '-n', 'x']);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toBe(`${notice()}\nAuto-approval object: x\n  main.py\nPeers: (any)\nCreated auto-approval object 'x'.\n`);
      expect(config()).not.toMatch(/^ {2}jobs:/m);
      expect(listJson().objects.map((o) => o.name)).toEqual(['legacy_alice_uni_edu', 'legacy_bob_co_com', 'x']);

      const next = sb.cli(['auto-approve', 'proj/sub/deep.py', '-n', 'x']);
      expect(next.code).toBe(0);
      expect(next.stdout).not.toMatch(/legacy|Migrated/);
      const peer = sb.cli(['remove-peer', 'bob@co.com', '--allow-any-peer']);
      expect(peer.code).toBe(0);
      expect(peer.stdout).toBe("Removed peer bob@co.com from 1 object(s).\nWarning: 'legacy_bob_co_com' has no peers left: it now matches jobs from any peer.\n");
    });

    it('remove-peer, remove-auto-approval FILES and --all print it too, and only when they write', () => {
      // A refusal writes nothing: no migration, no notice.
      const refused = sb.cli(['remove-peer', 'alice@uni.edu']);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(config()).toMatch(/^ {2}jobs:/m);
      const peer = sb.cli(['remove-peer', 'alice@uni.edu', '--allow-any-peer']);
      expect(peer.code).toBe(0);
      expect(peer.stdout.split('\n')[0]).toBe(notice());
      expect(peer.stdout.match(/Migrated legacy/g)).toHaveLength(1);

      fs.copyFileSync(LEGACY, cfg);
      const files = sb.cli(['remove-auto-approval', 'utils.py', '-n', 'legacy_alice_uni_edu']);
      expect(files.code).toBe(0);
      expect(files.stdout).toBe(`${notice()}\nRemoved 1 file(s) from 'legacy_alice_uni_edu'.\n`);

      fs.copyFileSync(LEGACY, cfg);
      const all = sb.cli(['remove-auto-approval', '-n', 'legacy_bob_co_com', '--all']);
      expect(all.code).toBe(0);
      expect(all.stdout).toBe(`${notice()}\nRemoved auto-approval object 'legacy_bob_co_com'.\n`);
      expect(sb.cli(['remove-auto-approval', '-n', 'legacy_alice_uni_edu', '--all']).stdout).toBe("Removed auto-approval object 'legacy_alice_uni_edu'.\n");
    });

    it('the Node API returns the notice in `notices` (and first in `lines`), then none', () => {
      const { autoApprove, removePeer } = require('../../lib/api/approvals') as typeof import('../../lib/api/approvals');
      const ctx = { env: sb.env, cwd: sb.dir };
      const a = autoApprove({ contents: ['proj/main.py'], name: 'x', ...ctx });
      expect(a.notices).toEqual([notice()]);
      expect(a.lines[0]).toBe(notice());
      const b = removePeer('bob@co.com', { allowAnyPeer: true, ...ctx });
      expect(b.notices).toEqual([]);
      expect(b.lines.join('\n')).not.toContain('Migrated');
    });
  });

  it('usage errors exit 2, failures exit 1; messages name the value at fault, never a stack trace', () => {
    const cases: Array<[string[], number, string]> = [
      [['auto-approve'], 2, "Error: missing argument 'CONTENTS...'"],
      [['auto-approve', 'proj/main.py', '--bogus'], 2, "error: unknown option '--bogus'"],
      [['auto-approve', 'proj/main.py', '--only', 'main.py'], 2, 'Error: --only only goes with --from-job JOB'],
      [['auto-approve', 'proj/main.py', '--from-job', 'ds@x.org/job'], 2, 'it cannot be combined with CONTENTS'],
      [['auto-approve', '--from-job', 'ds@x.org/job', '-f', 'params.json'], 2, 'it cannot be combined with -f/--file-paths'],
      [['auto-approve', 'nothere.py'], 1, `Error: File not found: ${path.join(sb.dir, 'nothere.py')}`],
      [['auto-approve', 'proj/main.py', '-n', 'a/b'], 1, 'Error: Invalid auto-approval object name "a/b"'],
      [['auto-approve', 'proj/main.py', '-f', '../x'], 1, "Error: Invalid file path '../x'"],
      [['list-auto-approvals', 'extra'], 2, 'error: too many arguments'],
      [['remove-peer'], 2, "error: missing required argument 'peer'"],
    ];
    for (const [args, code, msg] of cases) {
      const r = sb.cli(args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toContain(msg);
      expect(r.stderr).not.toMatch(NO_STACK);
    }
    expect(listJson().objects).toEqual([]);
    // A broken config.yaml is reported with its line, not overwritten.
    fs.writeFileSync(cfg, config().replace(/^(\s+interval:) 5$/m, '$1 [oops'));
    const broken = sb.cli(['auto-approve', 'proj/main.py']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(new RegExp(`^Error: .*${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+`));
    expect(broken.stderr).not.toMatch(NO_STACK);
  });
});
