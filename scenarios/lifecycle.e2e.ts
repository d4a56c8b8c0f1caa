import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BootStageError,
  ConsoleWaitError,
  Deadline,
  execCommand,
  HarnessError,
  NbdPeer,
  bootStages,
  resultsSchemaErrors,
  stateRoot,
  SutError,
  type RunResults,
  type StartedLab,
  type StartedThinClient,
} from '../harness/index';
import { LAB_SCRIPT, runLab } from './support/lab-cli';
import { leftovers, NOTHING } from './support/leftovers';
import { rejection, until } from './support/outcome';
import { startClient, startSuiteLab } from './support/suite-lab';

/** The run id of the lab a child process owns (from its state folder's owner file). */
function runOwnedBy(pid: number): string | undefined {
  if (!existsSync(stateRoot())) return undefined;
  for (const id of readdirSync(stateRoot())) {
    try {
      if (readFileSync(join(stateRoot(), id, 'owner'), 'utf8').startsWith(`${pid}:`)) return id;
    } catch {
      /* not yet written */
    }
  }
  return undefined;
}

/** Starts `./lab boot` in the background, and waits until its client's kernel is running. */
async function bootInBackground(report: string, args: string[] = []): Promise<{ child: ChildProcess; run: string; exited: Promise<number | null> }> {
  const child = spawn(LAB_SCRIPT, ['boot', '--report', report, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const d = Deadline.after(180_000, './lab boot to reach its kernel');
  const run = await until(d, () => runOwnedBy(child.pid!));
  await until(d, () => {
    if (child.exitCode !== null) throw new Error(`./lab boot exited early: ${stderr}`);
    const log = join(report, 'c1', 'console.log');
    return existsSync(log) && /iPXE/.test(readFileSync(log, 'utf8')) ? true : undefined;
  });
  return { child, run, exited };
}

describe('lifecycle: teardown on every path, and a reaper for what a killed run leaves @full', function () {
  let lab: StartedLab | undefined;
  let scratch: string;

  before(async function () {
    scratch = mkdtempSync(join(tmpdir(), 'ltsp-lab-life-'));
    lab = await startSuiteLab(this.test!.parent!);
  });

  after(async function () {
    await lab?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('./lab boot killed with SIGKILL mid-boot, under a loss fault, leaves its lab and the fault\'s rules; ./lab clean reaps them and spares a live lab', async function () {
    const { child, run, exited } = await bootInBackground(join(scratch, 'sigkill'), ['--fault', 'loss:5']);
    child.kill('SIGKILL');
    await exited;
    const left = await leftovers(run);
    expect(left.containers + left.networks + left.taps + left.qemu, 'a SIGKILLed run cannot clean up').to.be.greaterThan(0);
    expect(left.rules, 'the bridge rule and the two loss rules').to.equal(3);

    const r = await runLab(['clean'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/removed [1-9]\d* QEMU process group/);
    expect(r.stdout).to.match(/, 2 fault rule\(s\) \(loss\)/);
    expect(await leftovers(run)).to.deep.equal(NOTHING);

    // The suite's own lab belongs to a live process: still there, still serving.
    expect(r.stdout).to.include(lab!.run.id);
    expect(await lab!.network.bridgeExists(Deadline.after(10_000, 'bridge'))).to.equal(true);
    const d = Deadline.after(30_000, 'NBD list on the live lab');
    const peer = await NbdPeer.connect(lab!.server.ip, { deadline: d });
    try {
      expect(await peer.listExports(d)).to.include('root');
    } finally {
      await peer.close();
    }
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`./lab boot given ${sig} mid-boot tears everything down and exits ${sig === 'SIGINT' ? 130 : 143}`, async function () {
      const { child, run, exited } = await bootInBackground(join(scratch, sig));
      child.kill(sig);
      const code = await Deadline.after(60_000, `./lab boot to exit after ${sig}`).race(exited);
      expect(code).to.equal(sig === 'SIGINT' ? 130 : 143);
      expect(await leftovers(run)).to.deep.equal(NOTHING);
      // Its report is written all the same: interrupted, with the stage c1 was in and its console tail.
      const results = JSON.parse(readFileSync(join(scratch, sig, 'results.json'), 'utf8')) as RunResults;
      expect(resultsSchemaErrors(results)).to.deep.equal([]);
      expect([results.outcome, results.exitCode, results.tests[0]?.error?.message]).to.deep.equal(['interrupted', code, `interrupted by ${sig}`]);
      const c1 = results.tests[0]!.clients[0]!;
      expect(c1.ok).to.equal(false);
      // The stage c1 was in: the one after its last mark (iPXE was on its console, so it had one).
      const order = bootStages({ union: true }).map((s) => s.id);
      const last = c1.stages.at(-1)?.stage;
      expect(last, 'c1 reached a stage before the signal').to.be.a('string');
      expect(c1.stages.map((s) => s.stage), 'its marks, in order').to.deep.equal(order.slice(0, order.indexOf(last!) + 1));
      expect(c1.failedStage, `the stage after its last mark ('${last}')`).to.equal(order[order.indexOf(last!) + 1]);
      expect(c1.consoleTail?.join('\n')).to.match(/iPXE/);
    });
  }

  describe('faults under a running boot (two clients booted at once to iPXE, one for each)', function () {
    let never: StartedThinClient | undefined;
    let killed: StartedThinClient | undefined;

    before(async function () {
      [never, killed] = await Promise.all([startClient(lab!, 'never'), startClient(lab!, 'killed')]);
      await Promise.all([never.waitForBoot(undefined, 'ipxe'), killed.waitForBoot(undefined, 'ipxe')]);
    });

    after(async function () {
      await Promise.all([never?.stop(), killed?.stop()]);
    });

    it('a console pattern that never comes: ConsoleWaitError naming the pattern, the time, and the console tail', async function () {
      try {
        const e = await rejection(never!.console.waitFor(/this line never comes/, { deadline: Deadline.after(3000, 'a pattern that never comes') }));
        expect(e).to.be.instanceOf(ConsoleWaitError);
        const w = e as ConsoleWaitError;
        expect(w.reason).to.equal('timeout');
        expect(w.message).to.match(/this line never comes/);
        expect(w.message).to.match(/3(\.0)? ?s|3000 ?ms/);
        expect(w.message).to.match(/iPXE/);
      } finally {
        // Gone before the next test counts the run's QEMU processes.
        await never!.stop();
      }
    });

    it('QEMU killed mid-boot: HarnessError saying it was killed from outside, at which stage', async function () {
      const c = killed!;
      c.kill('SIGKILL');
      const e = await rejection(c.waitForBoot());
      expect(e).to.be.instanceOf(HarnessError);
      expect((e as Error).message).to.match(/QEMU for killed was killed from outside \(SIGKILL\) at stage/);
      await c.stop();
      expect((await leftovers(lab!.run.id)).qemu).to.equal(0);
    });
  });

  describe('the lab breaking under a boot (each with a lab of its own)', function () {
    let own: StartedLab | undefined;

    afterEach(async function () {
      const run = own?.run.id;
      await own?.stop();
      own = undefined;
      if (run) expect(await leftovers(run)).to.deep.equal(NOTHING);
    });

    it('the bridge deleted mid-run: HarnessError naming the bridge; teardown still completes', async function () {
      own = await startSuiteLab(this.test!.parent!);
      const c = await startClient(own, 'nobridge');
      await c.waitForBoot(undefined, 'ipxe');
      await execCommand('ip', ['link', 'del', 'dev', own.network.bridge], { deadline: Deadline.after(10_000, 'delete the bridge') });
      const e = await rejection(c.waitForBoot());
      expect(e).to.be.instanceOf(HarnessError);
      expect((e as Error).message).to.match(new RegExp(`lab bridge ${own.network.bridge} is gone`));
    });

    it('the server container killed mid-boot: SutError saying the server stopped, with its log', async function () {
      own = await startSuiteLab(this.test!.parent!);
      const c = await startClient(own, 'noserver');
      await c.waitForBoot(undefined, 'ipxe');
      await execCommand('docker', ['kill', own.server.getId()], { deadline: Deadline.after(30_000, 'docker kill') });
      const e = await rejection(c.waitForBoot());
      expect(e).to.be.instanceOf(SutError);
      expect(e).to.not.be.instanceOf(BootStageError);
      expect((e as Error).message).to.match(/LTSP server container stopped mid-run/);
      expect((e as Error).message).to.match(/ltsp-server: ready/);
    });
  });
});
