import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { BootStageError } from '../common/errors';
import { ConsoleLog } from '../qemu-ts-wrapper';
import { followStages, type StageSource } from './follow-stages';
import { bareBootStages, bootStages } from './stages';
import { FIXTURES_DIR } from '../common/paths';
import { clientSpec } from '../client/client-spec';

const WITH = { client: clientSpec() };
const WITHOUT = { client: clientSpec({ union: 'none' }) };

/**
 * A real bare boot with the union: bare QEMU, -kernel/-initrd of the lab's kernel and
 * initramfs, root=/dev/vda on a read-only virtio disk, as ./lab bench logged it (the
 * harness's "[  12.345] " prefixes stripped). Fed as a serial console sends it.
 */
const BARE = readFileSync(join(FIXTURES_DIR, 'consoles', 'console-bare-union.log'), 'utf8').replace(/\n$/, '').replaceAll('\n', '\r\n');

function machine(): StageSource & { console: ConsoleLog } {
  const exited = new Promise<never>(() => undefined);
  return { name: 'bare', console: new ConsoleLog({ name: 'bare' }), exited, startedAt: performance.now(), isRunning: () => true };
}

async function follow(text: string, union: boolean): Promise<Map<string, string>> {
  const m = machine();
  const following = followStages(m, bareBootStages(union ? WITH : WITHOUT), { deadline: Deadline.after(5000, 'bare stages'), budgetMs: () => 5000, consoleLogFile: 'console.log' });
  m.console.push(text);
  m.console.end();
  return new Map((await following).map((x) => [x.stage, x.line]));
}

describe('bare boot stages against a real bare union boot', function () {
  this.timeout(10_000);

  it('are the lab stages after the kernel starts, with the root on vda', () => {
    const ids = bareBootStages(WITH).map((s) => s.id);
    expect(ids).to.deep.equal(['kernel', 'initramfs', 'root', 'union', 'switch-root', 'system', 'login']);
    const pxe = new Map(bootStages(WITHOUT).map((s) => [s.id, s]));
    for (const s of bareBootStages(WITHOUT).filter((x) => x.id !== 'root')) {
      expect(s.pattern.source, s.id).to.equal(pxe.get(s.id)?.pattern.source);
    }
  });

  it('sees every stage in order, each on the line it is about', async () => {
    const seen = await follow(BARE, true);
    expect([...seen.keys()]).to.deep.equal(bareBootStages(WITH).map((s) => s.id));
    expect(seen.get('kernel')).to.include('Linux version 6.1');
    expect(seen.get('initramfs')).to.include('Run /init as init process');
    expect(seen.get('root')).to.match(/EXT4-fs \(vda\): mounted/);
    expect(seen.get('union')).to.include('ltsp-union: mounted');
    expect(seen.get('system')).to.equal('Welcome to Debian GNU/Linux 12 (bookworm)!');
    expect(seen.get('login')).to.include('login: root (automatic login)');
  });

  it('without the union waits for "ltsp-union: off", which a union boot never prints', async () => {
    const plain = BARE.replace(/\[ +[\d.]+\] ltsp-union: start[^]*?ltsp-union: mounted [^\r]*/, '[   19.3] ltsp-union: off (no rd.unionfs=1): booting the plain read-only root');
    expect((await follow(plain, false)).get('union')).to.match(/ltsp-union: off/);
    const err = await follow(BARE, false).then(
      () => expect.fail('a union boot has no "ltsp-union: off" line'),
      (e: unknown) => e as BootStageError,
    );
    expect(err).to.be.instanceOf(BootStageError);
    expect(err.stage).to.equal('union off (read-only root) (union)');
  });

});
