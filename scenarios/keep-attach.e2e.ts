import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  budgetMs,
  clientImages,
  Deadline,
  DEFAULT_CLIENT_SPEC,
  readManifest,
  RESCUE_PROMPT,
  stepDeadline,
  Terminal,
  type StartedTerminal,
  hostBudgetMs,
} from '../harness/index';
import { LAB_SCRIPT, runLab, spawnLab, type BackgroundLab } from './support/lab-cli';
import { leftovers, NOTHING } from './support/leftovers';
import { until } from './support/outcome';
import { suiteReportDir, testReportDir } from './support/report-dir';
import { recordTestData } from './support/run-report';

/** Ctrl-] then q: ./lab attach's detach key. */
const DETACH = '\x1d' + 'q';

/** Escapes a string for a RegExp. */
const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A kept ./lab boot: the process, and its run id once it printed its attach line. */
interface Kept {
  lab: BackgroundLab;
  run?: string;
}

describe('keep and attach: a kept lab, passed or failed, is reached from a terminal as a person would @full', function () {
  // Both boots run at once (two guests): one that logs in, one whose export does not exist.
  const up: Kept = { lab: undefined as unknown as BackgroundLab };
  const broken: Kept = { lab: undefined as unknown as BackgroundLab };
  const terminals: StartedTerminal[] = [];
  let suiteDir: string;

  /** ./lab attach ARGS in a pty of COLSxROWS, its screen logged in the test's folder. */
  async function attach(test: Mocha.Runnable, args: string[], cols: number, rows: number, log: string): Promise<StartedTerminal> {
    const t = await new Terminal(LAB_SCRIPT, ['attach', ...args], 'lab attach').withSize(cols, rows).withLog(join(testReportDir(test), log)).start();
    terminals.push(t);
    await t.waitFor(/Ctrl-\] q detaches/, Deadline.after(hostBudgetMs('labCommand'), './lab attach to connect'));
    return t;
  }

  /** Types a command at the shell and returns how long its answer (a line matching `answer`) took to show. */
  async function ask(t: StartedTerminal, command: string, answer: RegExp, prompt: RegExp = /# $/): Promise<number> {
    const t0 = performance.now();
    t.type(`${command}\r`);
    await t.waitFor(answer, stepDeadline(budgetMs('shellCommand'), `${t.name}: ${command}`));
    const ms = performance.now() - t0;
    await t.waitFor(prompt, stepDeadline(budgetMs('shellCommand'), `${t.name}: prompt after ${command}`));
    return ms;
  }

  before(async function () {
    suiteDir = suiteReportDir(this.test!.parent!);
    // One ./lab first: it compiles build/ if a source changed, which two at once would race on.
    expect((await runLab(['ls'], { timeoutMs: hostBudgetMs('labCommand') })).code).to.equal(0);
    up.lab = spawnLab(['boot', '--keep', '--report', join(suiteDir, 'up')]);
    // The stock client: its systemd initramfs's emergency mode and sulogin are what the
    // rescue case reads (the ltsp kind's shell initramfs drops to its shell at once).
    // rd.retry=10 after --keep's own rd.retry=30 (the last wins): dracut gives up on the
    // export about 40 s sooner, as a user who knows the boot fails would ask it to.
    broken.lab = spawnLab(['boot', '--keep', '--client', 'stock', '--export', 'nosuch', '--append', 'rd.retry=10', '--report', join(suiteDir, 'nosuch')]);
    // A backstop only: each ./lab boot has its own budget for every stage and for dracut's shell, and says so.
    const d = stepDeadline(budgetMs('labStart'), 'two ./lab boot --keep to be kept');
    const keptRun = (k: Kept, line: RegExp, fail: RegExp): string | undefined => {
      const err = k.lab.stderr();
      if (fail.test(err)) throw new Error(`./lab boot failed:\n${err.slice(-4000)}`);
      return line.exec(err)?.[1];
    };
    const ended = /^lab: done in|^lab: (usage|set-up problem|the harness broke|unexpected error)/m;
    up.run = await until(d, () => {
      // Kept whether it logged in or not: a boot that failed ends the wait here, not at the backstop.
      const line = /^lab: c1 \((.*)\): \.\/lab attach ([a-z0-9]{6}) c1$/m.exec(up.lab.stderr());
      if (line && !line[1]!.endsWith('at its login')) throw new Error(`the boot that should log in did not:\n${up.lab.stderr().slice(-4000)}`);
      return keptRun(up, /^lab: c1 \(.*, at its login\): \.\/lab attach ([a-z0-9]{6}) c1$/m, ended);
    });
    broken.run = await until(d, () => keptRun(broken, /^lab: c1 is at dracut's emergency shell .*: \.\/lab attach ([a-z0-9]{6}) c1$/m, new RegExp(`${ended.source}|did not reach dracut's emergency shell`, 'm')));
    process.stderr.write(`      ${/^lab: c1 is at dracut's emergency shell.*$/m.exec(broken.lab.stderr())?.[0]}\n`);
  });

  after(async function () {
    for (const t of terminals) await t.stop();
    // A test that failed half-way must not leave its labs up.
    for (const k of [up, broken]) {
      if (k.lab && k.lab.pid && !(await settled(k.lab.exited, 0))) {
        k.lab.kill('SIGTERM');
        if (!(await settled(k.lab.exited, hostBudgetMs('stopKept')))) k.lab.kill('SIGKILL', true);
      }
    }
  });

  it('./lab ls lists both runs, kept, with each client\'s kind, state, stage and lease; ./lab attach without a run names the choices', async function () {
    const r = await runLab(['ls'], { timeoutMs: hostBudgetMs('labCommand') });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(new RegExp(`^${up.run}  \\S+( \\S+)?  kept, pid ${up.lab.pid} `, 'm'));
    expect(r.stdout).to.match(new RegExp(`^  c1 +${DEFAULT_CLIENT_SPEC.kind} +up +login prompt +10\\.\\d+\\.\\d+\\.\\d+ +\\./lab attach ${up.run} c1$`, 'm'));
    expect(r.stdout).to.match(new RegExp(`^${broken.run}  .* kept, pid ${broken.lab.pid} .*--export nosuch`, 'm'));
    expect(r.stdout).to.match(new RegExp(`^  c1 +stock +shell +dracut's emergency shell +10\\.\\d+\\.\\d+\\.\\d+ +\\./lab attach ${broken.run} c1 \\(failed at nbd\\)$`, 'm'));

    const ambiguous = await runLab(['attach'], { timeoutMs: hostBudgetMs('labCommand') });
    expect(ambiguous.code, ambiguous.stderr).to.equal(2);
    expect(ambiguous.stderr).to.match(/lab: usage: \d+ runs are live: say which/);
    expect(ambiguous.stderr).to.include(up.run).and.include(broken.run);
    const noClient = await runLab(['attach', up.run!, 'c9'], { timeoutMs: hostBudgetMs('labCommand') });
    expect(noClient.code).to.equal(2);
    expect(noClient.stderr).to.match(new RegExp(`run ${up.run} has no client 'c9'[\\s\\S]*its clients: c1`));
  });

  it('attached, the guest runs what is typed (uname -r) and has the terminal\'s size, on attach and after a resize', async function () {
    const t = await attach(this.test!, [up.run!], 100, 30, 'attach-1.log');
    // As a person would, Enter for a fresh prompt (a kernel line may have followed the
    // login's); the size goes in at the first idle prompt, typed by ./lab attach.
    t.type('\r');
    await t.waitFor(/stty rows 30 cols 100/, stepDeadline(budgetMs('shellCommand'), 'the size typed on attach'));
    await t.waitFor(/# $/, stepDeadline(budgetMs('shellCommand'), 'the prompt after it'));
    // ./lab boot's clients boot the default kind: the kernel the image set serves it.
    const kernel = clientImages(readManifest(), DEFAULT_CLIENT_SPEC.kind).kernelVersion;
    const latency = await ask(t, 'uname -r', new RegExp(`^${re(kernel)}$`));
    recordTestData(testReportDir(this.test!), 'unameMs', Math.round(latency));
    process.stderr.write(`      uname -r answered in ${Math.round(latency)} ms through ./lab attach\n`);
    await ask(t, 'stty size', /^30 100$/);
    t.resize(120, 40);
    await t.waitFor(/stty rows 40 cols 120/, stepDeadline(budgetMs('shellCommand'), 'the size typed after the resize'));
    await t.waitFor(/# $/, stepDeadline(budgetMs('shellCommand'), 'the prompt after it'));
    await ask(t, 'stty size', /^40 120$/);
  });

  it('two attaches at once both see the console; one detaches (Ctrl-] q), the lab runs on and the other still works', async function () {
    const [a] = terminals as [StartedTerminal];
    const b = await attach(this.test!, [up.run!, 'c1'], 120, 40, 'attach-2.log');
    await b.waitFor(/# $/, stepDeadline(budgetMs('shellCommand'), 'a prompt on the second'));
    const t0 = performance.now();
    a.type('echo both-$((6*7))\r');
    await Promise.all([a, b].map((t) => t.waitFor(/^both-42$/, stepDeadline(budgetMs('shellCommand'), `${t.name}: both-42`))));
    recordTestData(testReportDir(this.test!), 'twoAttachesMs', Math.round(performance.now() - t0));

    a.type(DETACH);
    const end = await a.waitForExit(Deadline.after(hostBudgetMs('consoleConnect'), 'the first attach to exit on Ctrl-] q'));
    expect(end.code).to.equal(0);
    expect(a.screen.lines().map((l) => l.text)).to.include('lab: detached; the lab runs on');
    expect(up.lab.stderr()).to.not.match(/lab: done in/);
    const ls = await runLab(['ls'], { timeoutMs: hostBudgetMs('labCommand') });
    expect(ls.stdout).to.match(new RegExp(`^${up.run} .* kept, pid ${up.lab.pid} `, 'm'));

    await b.waitFor(/# $/, stepDeadline(budgetMs('shellCommand'), 'a prompt on the second'));
    await ask(b, 'echo still-$((2+3))', /^still-5$/);
    b.type(DETACH);
    expect((await b.waitForExit(Deadline.after(hostBudgetMs('consoleConnect'), 'the second attach to exit'))).code).to.equal(0);
  });

  it('the failed boot (an export the server lacks) waits at dracut\'s emergency shell, and an attach gets its prompt', async function () {
    const t = await attach(this.test!, [broken.run!], 100, 30, 'attach-rescue.log');
    // The scrollback: dracut's own words before its shell.
    await t.waitFor(/Entering emergency mode/, Deadline.after(hostBudgetMs('consoleConnect'), 'the scrollback'));
    await t.waitFor(/Press Enter for maintenance/, Deadline.after(hostBudgetMs('consoleConnect'), 'sulogin'));
    t.type('\r');
    await t.waitFor(RESCUE_PROMPT, stepDeadline(budgetMs('shellCommand'), "dracut's shell prompt"));
    // The size is typed here too, at its first quiet prompt; dracut's initramfs has no
    // stty (the stack's fact, pinned): the shell says so, and no resize types it again.
    await t.waitFor(/stty rows 30 cols 100/, stepDeadline(budgetMs('shellCommand'), "the size typed at dracut's shell"));
    await t.waitFor(/stty: (command )?not found/, stepDeadline(budgetMs('shellCommand'), "dracut's shell on stty"));
    await t.waitFor(RESCUE_PROMPT, stepDeadline(budgetMs('shellCommand'), 'the prompt after it'));
    t.resize(120, 40);
    await ask(t, 'echo rescue-$((40+2))', /^rescue-42$/, RESCUE_PROMPT);
    expect(t.screen.lines().filter((l) => /stty rows/.test(l.text))).to.have.length(1);
    // Still in the initramfs: the root it could not mount is not there.
    await ask(t, 'test -e /sysroot/etc/os-release || echo no-root', /^no-root$/, RESCUE_PROMPT);
    t.type(DETACH);
    expect((await t.waitForExit(Deadline.after(hostBudgetMs('consoleConnect'), 'the attach to exit'))).code).to.equal(0);
    const log = readFileSync(join(suiteDir, 'nosuch', 'c1', 'console.log'), 'utf8');
    const at = (p: RegExp): number => Number(/^\[\s*([\d.]+)\]/.exec(log.split('\n').find((l) => p.test(l)) ?? '')?.[1]);
    const shellS = at(/Press Enter for maintenance/) - at(/Starting dracut-initqueue/);
    recordTestData(testReportDir(this.test!), 'initqueueToShellS', shellS);
    process.stderr.write(`      dracut's shell ${shellS.toFixed(1)} s after its initqueue started\n`);
  });

  it('./lab stop RUN ends each kept run through its owner, which exits with its boot\'s code, and nothing is left', async function () {
    for (const [k, code] of [[up, 0], [broken, 4]] as const) {
      const r = await runLab(['stop', k.run!], { timeoutMs: hostBudgetMs('labCommand') + hostBudgetMs('stopKept') });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`^lab stop: run ${k.run} stopped in [\\d.]+ s; nothing left running$`, 'm'));
      const done = await Deadline.after(hostBudgetMs('stopKept'), './lab boot to exit after ./lab stop').race(k.lab.exited);
      expect(done.code, done.stderr.slice(-2000)).to.equal(code);
      expect(done.stderr).to.match(/lab: stopping run/);
      expect(await leftovers(k.run!)).to.deep.equal(NOTHING);
    }
    const gone = await runLab(['stop', up.run!], { timeoutMs: hostBudgetMs('labCommand') });
    expect(gone.code).to.equal(2);
    expect(gone.stderr).to.match(new RegExp(`there is no run '${up.run}'`));
  });
});

/** Whether `p` settles within `ms`. */
async function settled(p: Promise<unknown>, ms: number): Promise<boolean> {
  return Deadline.after(ms, 'settle').race(p).then(() => true, () => false);
}
