import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  budgetMs,
  BootStageError,
  ConsoleWaitError,
  Deadline,
  execCommand,
  HarnessError,
  NbdPeer,
  bootStages,
  readRunFile,
  resultsSchemaErrors,
  stateRoot,
  SutError,
  type RunResults,
  type StartedLab,
  type StartedThinClient,
  hostBudgetMs,
} from '../harness/index';
import { LAB_SCRIPT, runLab, spawnLab } from './support/lab-cli';
import { DockerHold, QemuHold, straceHold } from './support/start-holds';
import { leftovers, NOTHING } from './support/leftovers';
import { rejection, until } from './support/outcome';
import { useCoreLab } from './support/core-lab';
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
  const d = Deadline.after(hostBudgetMs('labBootPoint'), './lab boot to reach its kernel');
  const run = await until(d, () => runOwnedBy(child.pid!));
  // The signal lands once the harness has marked a stage of c1 (its run file says so), not
  // when iPXE's words reach the console: the follower may not have stamped them yet.
  await until(d, () => {
    if (child.exitCode !== null) throw new Error(`./lab boot exited early: ${stderr}`);
    const c1 = readRunFile(join(stateRoot(), run))?.clients.find((c) => c.name === 'c1');
    return c1 !== undefined && c1.stage !== 'powered on' ? true : undefined;
  });
  return { child, run, exited };
}

describe('lifecycle: teardown on every path, and a reaper for what a killed run leaves @full', function () {
  let lab: StartedLab | undefined;
  let scratch: string;
  // The live lab ./lab clean must spare, and the lab of the faults under a running boot: the core lab (support/core-lab.ts), where no other file's client runs meanwhile.
  const core = useCoreLab(this);

  before(async function () {
    scratch = mkdtempSync(join(tmpdir(), 'ltsp-lab-life-'));
    lab = await core.lab();
  });

  after(async function () {
    await core.release();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('./lab boot killed with SIGKILL mid-boot, under a loss fault, leaves its lab and the fault\'s rules; ./lab clean reaps them and spares a live lab', async function () {
    const { child, run, exited } = await bootInBackground(join(scratch, 'sigkill'), ['--fault', 'loss:5']);
    child.kill('SIGKILL');
    await exited;
    const left = await leftovers(run);
    expect(left.containers + left.networks + left.taps + left.qemu, 'a SIGKILLed run cannot clean up').to.be.greaterThan(0);
    expect(left.rules, 'the bridge rule and the two loss rules').to.equal(3);

    const r = await runLab(['clean'], { timeoutMs: hostBudgetMs('labCommand') + hostBudgetMs('reap') });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/removed [1-9]\d* QEMU process group/);
    expect(r.stdout).to.match(/, 2 fault rule\(s\) \(loss\)/);
    expect(await leftovers(run)).to.deep.equal(NOTHING);

    // The suite's own lab belongs to a live process: still there, still serving.
    expect(r.stdout).to.include(lab!.run.id);
    expect(await lab!.network.bridgeExists(Deadline.after(hostBudgetMs('hostCommand'), 'bridge'))).to.equal(true);
    const d = Deadline.after(hostBudgetMs('listExports'), 'NBD list on the live lab');
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
      const code = await Deadline.after(hostBudgetMs('stopKept'), `./lab boot to exit after ${sig}`).race(exited);
      expect(code).to.equal(sig === 'SIGINT' ? 130 : 143);
      expect(await leftovers(run)).to.deep.equal(NOTHING);
      // Its report is written all the same: interrupted, with the stage c1 was in and its console tail.
      const results = JSON.parse(readFileSync(join(scratch, sig, 'results.json'), 'utf8')) as RunResults;
      expect(resultsSchemaErrors(results)).to.deep.equal([]);
      expect([results.outcome, results.exitCode, results.tests[0]?.error?.message]).to.deep.equal(['interrupted', code, `interrupted by ${sig}`]);
      const c1 = results.tests[0]!.clients[0]!;
      expect(c1.ok).to.equal(false);
      // The stage c1 was in: the one after its last mark (iPXE was on its console, so it had one).
      const order: string[] = bootStages().map((s) => s.id);
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
      [never, killed] = await Promise.all([core.client('never'), core.client('killed')]);
      await Promise.all([never.waitForBoot(undefined, 'ipxe'), killed.waitForBoot(undefined, 'ipxe')]);
    });

    after(async function () {
      await Promise.all([never?.stop(), killed?.stop()]);
    });

    it('a console pattern that never comes: ConsoleWaitError naming the pattern, the time, and the console tail', async function () {
      try {
        const ms = hostBudgetMs('expectedTimeout');
        const e = await rejection(never!.console.waitFor(/this line never comes/, { deadline: Deadline.after(ms, 'a pattern that never comes') }));
        expect(e).to.be.instanceOf(ConsoleWaitError);
        const w = e as ConsoleWaitError;
        expect(w.reason).to.equal('timeout');
        expect(w.message).to.match(/this line never comes/);
        expect(w.message).to.match(new RegExp(`${ms / 1000}(\\.0)? ?s|${ms} ?ms`));
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
      await execCommand('ip', ['link', 'del', 'dev', own.network.bridge], { deadline: Deadline.after(hostBudgetMs('hostCommand'), 'delete the bridge') });
      const e = await rejection(c.waitForBoot());
      expect(e).to.be.instanceOf(HarnessError);
      expect((e as Error).message).to.match(new RegExp(`lab bridge ${own.network.bridge} is gone`));
    });

    it('the server container killed mid-boot: SutError saying the server stopped, with its log', async function () {
      own = await startSuiteLab(this.test!.parent!);
      const c = await startClient(own, 'noserver');
      await c.waitForBoot(undefined, 'ipxe');
      await execCommand('docker', ['kill', own.server.getId()], { deadline: Deadline.after(hostBudgetMs('faultStep'), 'docker kill') });
      const e = await rejection(c.waitForBoot());
      expect(e).to.be.instanceOf(SutError);
      expect(e).to.not.be.instanceOf(BootStageError);
      expect((e as Error).message).to.match(/LTSP server container stopped mid-run/);
      expect((e as Error).message).to.match(/ltsp-server: ready/);
    });
  });
});

/**
 * Where `./lab boot` is held when the SIGTERM comes, and how the test knows it is there:
 * each hold stops the lab inside that step (see support/start-holds), so the signal
 * provably lands there.
 */
interface StartPoint {
  point: string;
  /** A Docker API request line to hold (support/start-holds DockerHold). */
  docker?: RegExp;
  /** A QEMU command line to hold (a bash regex, support/start-holds QemuHold). */
  qemu?: string;
  /** Every mkdir of the state root held once made (strace), SIGTERM sent while it is. */
  stateRoot?: true;
  /** A progress line of ./lab boot to send it on. */
  line?: RegExp;
}

const START_POINTS: StartPoint[] = [
  { point: 'the state-root check', stateRoot: true },
  { point: 'the image build (its cache check)', docker: /^GET \S*\/images\/ltsp-lab\/base:\S+\/json / },
  { point: 'the reap of dead runs', docker: /^GET \S*\/containers\/json\?\S*ltsp-lab/ },
  { point: 'the network creation', docker: /^POST \S*\/networks\/create / },
  { point: 'the server start (clients powering on beside it)', docker: /^POST \S*\/containers\/[0-9a-f]+\/start\S* / },
  { point: 'the accelerator probe', qemu: '-accel kvm' },
  { point: 'the client boot', line: /^lab: run [a-z0-9]{6}: 1 client\(s\) booting/m },
];

/** How long the state-root hold keeps the mkdir of the root from returning: the SIGTERM lands inside it. */
const STATE_ROOT_HOLD_S = 3;

describe('SIGTERM at every point of ./lab boot\'s start-up: exit 143 within the startStop budget, nothing left (issue 19) @full', function () {
  let scratch: string;

  before(function () {
    scratch = mkdtempSync(join(tmpdir(), 'ltsp-lab-sigstart-'));
  });

  after(function () {
    rmSync(scratch, { recursive: true, force: true });
  });

  for (const p of START_POINTS) {
    it(`SIGTERM during ${p.point}`, async function () {
      // A state root of its own: no cached accelerator verdict (the probe runs), and its run folders are all this run's.
      const dir = join(scratch, p.point.replace(/\W+/g, '-'));
      mkdirSync(dir);
      const root = join(dir, 'state');
      const report = join(dir, 'report');
      const trace = join(dir, 'strace');
      // The host's accelerator verdict, where the probe is not the point: no QEMU starts before the clients.
      if (!p.qemu && !p.stateRoot && existsSync(join(stateRoot(), 'accel-verdict.json'))) {
        mkdirSync(root, { recursive: true });
        copyFileSync(join(stateRoot(), 'accel-verdict.json'), join(root, 'accel-verdict.json'));
      }
      // Each hold is a folder in /tmp, removed by the finally below; one that cannot be made removes its own, and the other goes.
      let docker: DockerHold | undefined;
      let qemu: QemuHold | undefined;
      try {
        docker = p.docker ? await new DockerHold(p.docker).start() : undefined;
        qemu = p.qemu ? await QemuHold.create(p.qemu) : undefined;
      } catch (e) {
        await docker?.close();
        throw e;
      }
      const d = Deadline.after(hostBudgetMs('labBootPoint'), `./lab boot to reach ${p.point}`);
      const lab = spawnLab(['boot', '--report', report], {
        env: { DEBUG: 'lab:lab', LTSP_LAB_STATE: root, ...docker?.env, ...qemu?.env() },
        ...(p.stateRoot ? { prefix: straceHold(root, STATE_ROOT_HOLD_S, trace) } : {}),
      });
      try {
        let target = lab.pid;
        const early = lab.exited.then((r) => Promise.reject(new Error(`./lab boot ended before ${p.point}: exit ${r.code}\n${r.stderr.slice(-3000)}`)));
        early.catch(() => undefined);
        const reached = async (): Promise<string> => {
          if (docker) return docker.held;
          if (qemu) return qemu.held(d);
          if (p.stateRoot) {
            const line = await until(d, () => (existsSync(trace) ? readFileSync(trace, 'utf8').split('\n').find((l) => l.includes(`mkdir("${root}"`)) : undefined));
            // The trace names the process: ./lab's node under strace.
            target = Number(line.split(' ')[0]);
            return line;
          }
          return until(d, () => p.line!.exec(lab.stderr())?.[0]);
        };
        const at = await d.race(Promise.race([reached(), early]));
        const t0 = performance.now();
        process.kill(target, 'SIGTERM');
        // What was held goes on: a step the lab does not wait for makes what it makes after the lab is gone.
        docker?.release();
        qemu?.release();
        const bound = budgetMs('startStop') + (p.stateRoot ? STATE_ROOT_HOLD_S * 1000 : 0);
        const r = await Deadline.after(bound, `./lab boot to exit after SIGTERM during ${p.point} (held at: ${at})`).race(lab.exited, () => {
          lab.kill('SIGKILL', true);
          return new Error(`./lab boot still ran ${bound / 1000} s after SIGTERM during ${p.point}\n${lab.stderr().slice(-3000)}`);
        });
        const ms = performance.now() - t0;
        expect(r.code, `exit code after SIGTERM during ${p.point} (held at: ${at})\n${r.stderr.slice(-3000)}`).to.equal(143);
        expect(r.stderr).to.match(/lab: SIGTERM: tearing the lab down/);
        const run = /lab run ([a-z0-9]{6}): starting/.exec(r.stderr)?.[1];
        if (!p.stateRoot) expect(run, 'the run id (debug lab)').to.be.a('string');
        // Whatever the lab did not wait for has had its chance to finish: a docker call released just now.
        await docker?.close();
        if (run) expect(await leftovers(run, root), `left by run ${run} after SIGTERM during ${p.point}, ${Math.round(ms)} ms to exit`).to.deep.equal(NOTHING);
        const inRoot = existsSync(root) ? readdirSync(root).filter((n) => n !== 'accel-verdict.json') : [];
        expect(inRoot, `the state root ${root}`).to.deep.equal([]);
      } finally {
        lab.kill('SIGKILL', true);
        await docker?.close();
        qemu?.remove();
      }
    });
  }
});
