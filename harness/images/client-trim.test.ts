import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '../common/paths';

/**
 * The client root's trim (vm-images/client/root): trim.list names every unit and
 * generator the image masks, with its reason, and ltsp-client-trim masks them at build.
 * Run here with --root on a tree of stand-in vendor files, so a list that names what the
 * image lacks, or an image mask the list does not name, is seen to fail the build.
 */
const RECIPE = join(repoRoot(), 'vm-images/client/root');
const SCRIPT = join(RECIPE, 'rootfs/usr/local/sbin/ltsp-client-trim');
const LIST = join(RECIPE, 'trim.list');

interface Entry {
  kind: string;
  name: string;
}

function entries(text: string): Entry[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const [kind = '', name = ''] = l.split(/\s+/);
      return { kind, name };
    });
}

/** The vendor file an entry needs: a generator, a unit, or an instance's template. */
function vendorFile(root: string, e: Entry): string {
  if (e.kind === 'generator') return join(root, 'usr/lib/systemd/system-generators', e.name);
  const instance = /^([^@]+)@.+(\.[a-z]+)$/.exec(e.name);
  return join(root, 'usr/lib/systemd/system', instance ? `${instance[1]}@${instance[2]}` : e.name);
}

describe('client root trim: trim.list and ltsp-client-trim', function () {
  this.timeout(20_000);
  let root = '';
  const listed = entries(readFileSync(LIST, 'utf8'));

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ltsp-lab-trim-'));
    for (const e of listed) {
      mkdirSync(dirname(vendorFile(root, e)), { recursive: true });
      writeFileSync(vendorFile(root, e), '');
    }
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function trim(list = LIST): { code: number; out: string } {
    const r = spawnSync('sh', [SCRIPT, '--root', root, list], { encoding: 'utf8', timeout: 15_000 });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`.trim() };
  }

  function writeList(lines: string[]): string {
    const file = join(root, 'trim.list');
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  }

  const masked = (path: string): boolean => lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true && readlinkSync(path) === '/dev/null';

  it('the lab list: each entry a unit or generator with its reason, none twice', () => {
    expect(listed.length, 'entries in trim.list').to.be.greaterThan(0);
    for (const line of readFileSync(LIST, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))) {
      expect(line, 'KIND NAME REASON').to.match(/^(unit|generator)\s+\S+\s+\S.*\S/);
    }
    const names = listed.map((e) => e.name);
    expect(new Set(names).size, 'names listed twice').to.equal(names.length);
    for (const e of listed.filter((x) => x.kind === 'unit')) expect(e.name).to.match(/^[\w@:.\\-]+\.(service|socket|target|timer|path|mount|automount)$/);
  });

  it('masks every listed unit and generator', () => {
    const r = trim();
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.include(`masked ${listed.length} units and generators`);
    for (const e of listed) {
      const dir = e.kind === 'generator' ? 'etc/systemd/system-generators' : 'etc/systemd/system';
      expect(masked(join(root, dir, e.name)), `${e.name} masked`).to.equal(true);
    }
  });

  it('takes an instance as there when its template is (getty@tty1.service: getty@.service)', () => {
    rmSync(join(root, 'usr/lib/systemd/system'), { recursive: true });
    mkdirSync(join(root, 'usr/lib/systemd/system'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/systemd/system/getty@.service'), '');
    const r = trim(writeList(['unit getty@tty1.service no VGA console']));
    expect(r.code, r.out).to.equal(0);
    expect(masked(join(root, 'etc/systemd/system/getty@tty1.service'))).to.equal(true);
  });

  it("removes a masked unit's enablement links", () => {
    const wants = join(root, 'etc/systemd/system/getty.target.wants');
    mkdirSync(wants, { recursive: true });
    symlinkSync('/usr/lib/systemd/system/getty@.service', join(wants, 'getty@tty1.service'));
    const r = trim(writeList(['unit getty@tty1.service no VGA console', ...listed.filter((e) => e.name !== 'getty@tty1.service').map((e) => `${e.kind} ${e.name} a reason`)]));
    expect(r.code, r.out).to.equal(0);
    expect(lstatSync(join(wants, 'getty@tty1.service'), { throwIfNoEntry: false }), 'the .wants link').to.equal(undefined);
  });

  it('fails the build when the list names a unit the image does not have', () => {
    const r = trim(writeList(['unit systemd-timesyncd.service no clock to set']));
    expect(r.code).to.not.equal(0);
    expect(r.out).to.match(/masks systemd-timesyncd\.service, which the image does not have/);
  });

  it('fails the build when the list names a generator the image does not have', () => {
    const r = trim(writeList(['generator systemd-no-such-generator not there']));
    expect(r.code).to.not.equal(0);
    expect(r.out).to.match(/masks systemd-no-such-generator, which the image does not have/);
  });

  it('fails the build when the image holds a mask the list does not name', () => {
    symlinkSync('/dev/null', join(root, 'etc/systemd/system/systemd-pstore.service'));
    const r = trim(writeList(listed.filter((e) => e.name !== 'systemd-pstore.service').map((e) => `${e.kind} ${e.name} a reason`)));
    expect(r.code).to.not.equal(0);
    expect(r.out).to.match(/systemd-pstore\.service is masked, but .* does not say so/);
  });

  it('fails on an entry without a reason, an unknown kind, or a name listed twice', () => {
    for (const [lines, why] of [
      [['unit systemd-udevd.service'], /want 'KIND NAME REASON\.\.\.'/],
      [['service systemd-udevd.service a reason'], /unknown kind 'service'/],
      [['unit systemd-udevd.service a reason', 'unit systemd-udevd.service again'], /systemd-udevd\.service is listed twice/],
    ] as const) {
      const r = trim(writeList([...lines]));
      expect(r.code, lines.join('; ')).to.not.equal(0);
      expect(r.out).to.match(why);
    }
  });
});
