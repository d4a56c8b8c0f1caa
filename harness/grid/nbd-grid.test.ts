import { expect } from 'chai';
import { cellBoot, cellWord, gridHtml, gridTable, type NbdGridCell } from './nbd-grid';

const login = { stage: 'login' };
const passed = { exitCode: 0, tests: [{ clients: [{ stages: [{ stage: 'nbd' }, login] }] }] };
const failedAtNbd = {
  exitCode: 4,
  tests: [{
    error: { message: "boot stage 'NBD connected' failed after 20 s: c1: failure pattern 'nbd-connect' seen: \"nbd-client: old-style negotiation not supported\"\n  tail", stage: 'NBD connected', consoleTail: ['[  9.0] a', '[ 10.0] last line'] },
    clients: [{ stages: [{ stage: 'kernel' }] }],
  }],
};
const restartLost = { exitCode: 4, tests: [{ error: { message: 'the stack did not come through nbd-restart@login (c1: no longer works)' }, clients: [{ stages: [login] }] }] };

describe('nbd grid: a cell read from its boot', () => {
  it('a boot that passed reached login, and came through the restart only if the fault struck', () => {
    expect(cellBoot(passed, 0, [{ fault: 'nbd-restart@login', outcome: 'recovered' }])).to.deep.equal({ exitCode: 0, login: true, nbdRestart: 'came through' });
    expect(cellBoot(passed, 0, [])).to.deep.equal({ exitCode: 0, login: true, nbdRestart: 'not reached' });
    expect(cellBoot(passed, 0)).to.deep.include({ nbdRestart: 'not reached' });
  });

  it('a boot that failed before login: the stage and the console line that failed it', () => {
    expect(cellBoot(failedAtNbd, 4)).to.deep.equal({
      exitCode: 4, login: false, nbdRestart: 'not reached',
      failure: { stage: 'NBD connected', line: 'nbd-client: old-style negotiation not supported' },
    });
  });

  it('a boot that reached login and failed after it lost the restart', () => {
    const c = cellBoot(restartLost, 4);
    expect(c).to.deep.include({ login: true, nbdRestart: 'did not' });
    expect(c.failure).to.deep.equal({ stage: 'nbd-restart@login', line: 'the stack did not come through nbd-restart@login (c1: no longer works)' });
    expect(cellWord(c)).to.equal('login, restart lost');
  });

  it('a cell that could not be set up is a set-up error, never a stack failure', () => {
    const c = cellBoot({ tests: [{ error: { message: 'the image build failed: FAILED step nbd-3.27: ...' } }] }, 3);
    expect(cellWord(c)).to.equal('set-up error');
    expect(c.failure?.stage).to.equal('set-up');
  });

  it('draws the grid: a row per server with its handshake, a column per client, and where each failed', () => {
    const cell = (server: string, client: string, boot: ReturnType<typeof cellBoot>, handshake: string): NbdGridCell =>
      ({ server, client, kind: 'stock', rootArg: 'root=nbd:{server}:{export}:ext4:ro', handshake, report: `${server}-x-${client}`, durationS: 90, ...boot });
    const cells = [
      cell('3.24', '3.21', cellBoot(passed, 0, [{ fault: 'nbd-restart@login', outcome: 'survived' }]), 'fixed newstyle + GO'),
      cell('3.24', '3.24', cellBoot(passed, 0, [{ fault: 'nbd-restart@login', outcome: 'recovered' }]), 'fixed newstyle + GO'),
      cell('oldstyle', '3.21', cellBoot(failedAtNbd, 4), 'oldstyle'),
      cell('oldstyle', '3.24', cellBoot(failedAtNbd, 4), 'oldstyle'),
    ];
    const t = gridTable(cells, ['3.24', 'oldstyle'], ['3.21', '3.24']);
    expect(t.split('\n')[0]).to.match(/^server \\ nbd-client\s+handshake\s+3\.21\s+3\.24$/);
    expect(t).to.match(/^3\.24\s+fixed newstyle \+ GO\s+ok\s+ok$/m);
    expect(t).to.match(/^oldstyle\s+oldstyle\s+fails: NBD connected\s+fails: NBD connected$/m);
    expect(t).to.include('oldstyle x 3.21: NBD connected: nbd-client: old-style negotiation not supported');
    const html = gridHtml(cells, ['3.24', 'oldstyle'], ['3.21', '3.24'], 'grid');
    expect(html).to.include('<td class="fail" data-server="oldstyle" data-client="3.21"><a href="oldstyle-x-3.21/index.html">fails: NBD connected</a>');
    expect(html.match(/class="ok"/g)).to.have.length(2);
  });
});
