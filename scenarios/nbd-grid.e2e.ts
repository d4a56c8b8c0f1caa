import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handshakeLabel, Lab, NBD_SERVER_DIMENSION, nbdServerPort, probeHandshake, stepDeadline, type NbdGridResult, hostBudgetMs } from '../harness/index';
import { leftovers, NOTHING } from './support/leftovers';
import { runLab, type CliResult } from './support/lab-cli';

/*
 * Issue 24: the nbd grid. A small grid, servers 3.24 (bookworm's) and oldstyle (nbdkit
 * --oldstyle, an LTSP5-era server) against clients 3.21 (bullseye's) and 3.24, each cell a
 * boot through nbd-restart@login. The pinned grid is what was measured (docs/nbd-grid.md):
 * a change in any cell, either way, fails with that cell named.
 */
const SERVERS = ['3.24', 'oldstyle'];
const CLIENTS = ['3.21', '3.24'];

/** Per server: its handshake. Per cell: login reached, the restart, and the stage it fails at. */
const HANDSHAKES: Record<string, string> = { '3.24': 'fixed newstyle + GO', oldstyle: 'oldstyle' };
const PINNED: Record<string, { login: boolean; nbdRestart: string; stage?: string; line?: RegExp }> = {
  '3.24 x 3.21': { login: true, nbdRestart: 'came through' },
  '3.24 x 3.24': { login: true, nbdRestart: 'came through' },
  'oldstyle x 3.21': { login: false, nbdRestart: 'not reached', stage: 'NBD connected (nbd)', line: /trying to connect to an oldstyle server\. This is no longer supported since nbd 3\.10/ },
  'oldstyle x 3.24': { login: false, nbdRestart: 'not reached', stage: 'NBD connected (nbd)', line: /trying to connect to an oldstyle server\. This is no longer supported since nbd 3\.10/ },
};

describe('nbd grid: which nbd-server versions which nbd-clients boot from, the old-style server among them @full', function () {
  let dir = '';
  let run: CliResult;
  let grid: NbdGridResult;

  before(async function () {
    // Four boots, two at a time (two guests, the lab's limit), each through an nbd-restart,
    // on the default (ltsp) client.
    this.timeout(hostBudgetMs('gridRun'));
    // Made here, not as the file loads: a --grep that skips this suite leaves no folder.
    dir = mkdtempSync(join(tmpdir(), 'ltsp-lab-nbd-grid-'));
    run = await runLab(['matrix', 'nbd', '--servers', SERVERS.join(','), '--clients', CLIENTS.join(','), '--at-once', '2', '--report', dir], { timeoutMs: hostBudgetMs('gridRun') });
    grid = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as NbdGridResult;
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('measures every cell and exits 0 (failed cells are findings, not errors)', function () {
    expect(run.code, run.stderr.slice(-3000)).to.equal(0);
    expect(grid.cells.map((c) => `${c.server} x ${c.client}`)).to.deep.equal(Object.keys(PINNED));
    expect(run.stdout).to.match(/^server \\ nbd-client\s+handshake\s+3\.21\s+3\.24$/m);
  });

  it('each server negotiates what it did when pinned', function () {
    for (const s of SERVERS) expect(grid.cells.find((c) => c.server === s)?.handshake, `nbd-server ${s}`).to.equal(HANDSHAKES[s]);
  });

  it('each cell boots as pinned: login, the nbd-restart, the stage it fails at', function () {
    const wrong: string[] = [];
    for (const c of grid.cells) {
      const name = `${c.server} x ${c.client}`;
      const want = PINNED[name];
      const got = { login: c.login, nbdRestart: c.nbdRestart, stage: c.failure?.stage };
      if (!want || got.login !== want.login || got.nbdRestart !== want.nbdRestart || got.stage !== want.stage || (want.line && !want.line.test(c.failure?.line ?? ''))) {
        wrong.push(`${name}: pinned ${JSON.stringify(want)}, measured ${JSON.stringify({ ...got, line: c.failure?.line })} (exit ${c.exitCode}, report ${join(dir, c.report)})`);
      }
    }
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
  });

  it('each cell booted its own root argument: the LTSP5-era port for oldstyle, the named export for the rest', function () {
    for (const c of grid.cells) {
      const cmdline = (JSON.parse(readFileSync(join(dir, c.report, 'results.json'), 'utf8')) as { tests: { clients: { kernelCmdline: string }[] }[] }).tests[0]!.clients[0]!.kernelCmdline;
      expect(cmdline, `${c.server} x ${c.client}`).to.match(c.server === 'oldstyle' ? /root=nbd:[\d.]+:2000:ext4:ro / : /root=nbd:[\d.]+:root:ext4:ro /);
    }
  });

  it('leaves nothing behind, cell by cell', async function () {
    for (const c of grid.cells) {
      expect(c.runId, `${c.server} x ${c.client}: its run id`).to.match(/^[a-z0-9]{6}$/);
      expect(await leftovers(c.runId!), `${c.server} x ${c.client} (${c.runId})`).to.deep.equal(NOTHING);
    }
  });
});

/*
 * What each server version negotiates, probed from the host with no client (no QEMU):
 * every nbd-server since 3.16 offers fixed newstyle with NBD_OPT_GO; nbdkit --oldstyle
 * offers old-style only, which no nbd-client since 3.10 speaks.
 */
const ALL_HANDSHAKES: Record<string, string> = {
  '3.21': 'fixed newstyle + GO',
  '3.24': 'fixed newstyle + GO',
  '3.26': 'fixed newstyle + GO',
  '3.27': 'fixed newstyle + GO',
  oldstyle: 'oldstyle',
};

describe('nbd grid: what each nbd-server version negotiates, without a client @full', function () {
  for (const server of NBD_SERVER_DIMENSION.values) {
    it(`nbd-server ${server}: ${ALL_HANDSHAKES[server]}`, async function () {
      const deadline = stepDeadline(hostBudgetMs('labStart'), `lab with nbd-server ${server}`);
      this.timeout(deadline.totalMs);
      const lab = await new Lab().withNbdServer(server).start({ deadline });
      try {
        const h = await probeHandshake(lab.server.ip, nbdServerPort(server), 'root', deadline.child(hostBudgetMs('listExports'), 'handshake probe'));
        expect(handshakeLabel(h)).to.equal(ALL_HANDSHAKES[server]);
        const version = await lab.server.exec(['sh', '-c', 'readlink -f /usr/bin/nbd-server']);
        expect(version.output, 'the server runs the asked version').to.match(server === 'oldstyle' ? /nbdkit/ : server === '3.24' ? /^\/usr\/(s?bin)\/nbd-server/ : new RegExp(`/opt/nbd-${server}/bin/nbd-server`));
      } finally {
        await lab.stop();
      }
    });
  }
});

describe('nbd grid: bad versions exit 2 and name the known ones, before anything starts @full', function () {
  const cases: { args: string[]; message: RegExp }[] = [
    { args: ['matrix', 'nbd', '--servers', '3.24,2.9.20'], message: /--nbd-server '2\.9\.20' is not one of 3\.21, 3\.24, 3\.26, 3\.27, oldstyle/ },
    { args: ['matrix', 'nbd', '--clients', 'oldstyle'], message: /--nbd-client 'oldstyle' is not one of 3\.21, 3\.24, 3\.26, 3\.27/ },
    { args: ['matrix', 'nfs'], message: /no grid 'nfs': the one grid is nbd/ },
    { args: ['boot', '--nbd-server', '3.9'], message: /--nbd-server '3\.9' is not one of 3\.21, 3\.24, 3\.26, 3\.27, oldstyle/ },
    { args: ['boot', '--nbd-client', '3.10'], message: /--nbd-client '3\.10' is not one of 3\.21, 3\.24, 3\.26, 3\.27/ },
  ];
  for (const c of cases) {
    it(`./lab ${c.args.join(' ')}`, async function () {
      const r = await runLab(c.args, { timeoutMs: hostBudgetMs('labCommand') });
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.match(c.message);
      expect(r.stderr).to.not.match(/matrix: |lab: run /);
    });
  }
});
