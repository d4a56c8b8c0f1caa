import { expect } from 'chai';
import { BootStageError, budgetMs, budgetStretch, ConsoleWaitError, Deadline, execCommand, parseFault, runFaults, type FaultEvent, type StartedLab, type StartedThinClient } from '../harness/index';
import { rejection } from './support/outcome';
import { startClient, startSuiteLab } from './support/suite-lab';

/*
 * The ways a netboot classroom fails in the field, replayed: the NBD server restarted
 * under running clients, a switch port flapping, a lossy link, a dead HTTP server, the
 * server gone. Each test applies its fault through the same code as
 * `./lab boot --fault KIND@WHEN` (harness/fault), checks that the fault really hit
 * (the server's or the client's own evidence), and then what a user of the stack needs:
 * the client came back, and how soon, or the exact way it failed. Each event is also on
 * the client's timeline in the run report.
 */

interface UnderFault {
  c: StartedThinClient;
  event: FaultEvent;
  boot: Promise<unknown>;
}

/** Starts a client, follows its boot, applies one fault when its stage comes, and judges it. */
async function underFault(lab: StartedLab, name: string, fault: string, boot?: { c: StartedThinClient; boot: Promise<unknown> }): Promise<UnderFault> {
  const faults = [parseFault(fault)];
  const c = boot?.c ?? (await startClient(lab, name));
  if (!boot) c.stretchBudgets(budgetStretch(faults));
  const booting = boot?.boot ?? c.waitForBoot();
  booting.catch(() => undefined);
  const [event] = await runFaults(faults, { server: lab.server, clients: [c], boots: [booting] });
  return { c, event: event!, boot: booting };
}

/** The server's "nbd-server pid A -> B" line, as [A, B]. */
function nbdPids(e: FaultEvent): [string, string] {
  const m = e.evidence.map((l) => /nbd-server pid (\S+) -> (\S+)/.exec(l)).find(Boolean);
  expect(m, `the fault's evidence names nbd-server's pid before and after:\n${e.evidence.join('\n')}`).to.not.equal(undefined);
  return [m![1]!, m![2]!];
}

/** The client's own word that its NBD connection went: any receive or send failure on nbd0, or the persist daemon's link-dead line. */
const NBD_LINK_LOST = /block nbd0: (?:Receive|Send) (?:control|data) failed|block nbd0: Request send failed|ltsp-nbd-persist: link dead on \/dev\/nbd0/;

/**
 * The kernel's request timer when nothing sets one (nbd_set_cmd_timeout in
 * drivers/block/nbd.c): a request in flight on the dead socket is resent only when it
 * fires. A recovery that took half of it or more waited for it, not for the reconnect.
 */
const KERNEL_REQUEST_TIMER_MS = 30_000;
const RECOVERED_WITHOUT_THE_TIMER_MS = KERNEL_REQUEST_TIMER_MS / 2;

/** The requests the restart met in flight (the fault holds them at the server), as a sentence. */
function heldInFlight(e: FaultEvent): string {
  expect(e.heldRequest, `the restart met a request of the client in flight:\n${show(e)}`).to.not.equal(undefined);
  const unread = e.heldRequest!.unread;
  expect(unread.some((b) => b >= 28), show(e)).to.equal(true);
  return unread.map((b) => `${b} bytes`).join(', ');
}

/** Two writable exports of a scratch file each: a plain one, and one copy-on-write (nbd-server(5)). */
const SCRATCH_MB = 16;
const SCRATCH_EXPORTS = [
  { name: 'scratch', file: '/srv/scratch.img', conf: '[scratch]\n\texportname = /srv/scratch.img\n\tauthfile = /etc/nbd-server/allow\n' },
  { name: 'scratch-cow', file: '/srv/scratch-cow.img', conf: '[scratch-cow]\n\texportname = /srv/scratch-cow.img\n\tcopyonwrite = true\n\tcowdir = /tmp\n\tauthfile = /etc/nbd-server/allow\n' },
];
const WRITER_LOG = '/run/ltsp-writer.log';
const WRITER_STOP = '/run/ltsp-writer.stop';

/**
 * A writer on DEV, in the background: in turn, block i gets "ltsp-write i" and block 0
 * "ltsp-count i", each written through (oflag=direct,dsync) and done before the next, until
 * WRITER_STOP appears; then it logs "last i". A write that fails ends it ("failed ..."); one
 * slower than a second is logged ("slow MS"). Prints its pid.
 */
function writerCommand(dev: string): string {
  const loop =
    `i=0; max=$(( $(blockdev --getsz ${dev}) / 8 - 2 )); ` +
    `while [ ! -e ${WRITER_STOP} ] && [ $i -lt $max ]; do i=$((i + 1)); s=$(date +%s%N); ` +
    `for b in "$i ltsp-write $i" "0 ltsp-count $i"; do printf "%-4096s" "\${b#* }" | dd of=${dev} bs=4k seek=\${b%% *} count=1 iflag=fullblock oflag=direct,dsync conv=notrunc 2>/dev/null || { echo "failed $b" >> ${WRITER_LOG}; exit 1; }; done; ` +
    `ms=$(( ($(date +%s%N) - s) / 1000000 )); [ $ms -lt 1000 ] || echo "slow $ms" >> ${WRITER_LOG}; done; echo "last $i" >> ${WRITER_LOG}`;
  return `rm -f ${WRITER_LOG} ${WRITER_STOP}; ( bash -c '${loop}' </dev/null >/dev/null 2>&1 & echo $! )`;
}

/** Reads back what the writer left on DEV: one line per block that is not what was written last ("block N: its first 40 characters", zeros as dots), then "checked ...". */
function verifyCommand(dev: string, last: number): string {
  return (
    `dd if=${dev} bs=4k count=${last + 2} iflag=direct 2>/dev/null | tr '\\0' . | fold -w 4096 | cut -c1-40 | sed 's/ *$//' | ` +
    `awk -v last=${last} 'NR == 1 && $0 != "ltsp-count " last { print "block 0: " $0 } ` +
    `NR > 1 && NR <= last + 1 && $0 != "ltsp-write " (NR - 1) { print "block " (NR - 1) ": " $0 } ` +
    `NR == last + 2 && $0 !~ /^[.]*$/ { print "block " (NR - 1) " (past the last): " $0 } END { print "checked " NR " blocks" }'`
  );
}

interface WritesAcross {
  event: FaultEvent;
  /** Writes the writer made (each an append and the count). */
  writes: number;
  /** Blocks that do not hold what was written to them last. */
  wrong: string[];
  longestWriteMs: number;
  report: string;
}

/**
 * Attaches EXPORT to the client as /dev/nbd1 (nbd-client, with the stack's reconnect daemon
 * for it, as for the root), runs the writer on it through an nbd-server restart that holds
 * its requests in flight, and reads back what landed.
 */
async function writesAcrossRestart(lab: StartedLab, c: StartedThinClient, boot: Promise<unknown>, exportName: string): Promise<WritesAcross> {
  const step = (what: string): Deadline => Deadline.after(budgetMs('faultStep'), `${c.name}: ${what}`);
  const dev = '/dev/nbd1';
  const ip = lab.server.ip;
  // The daemon for nbd1 says it watches in the kernel log once it has set its timeouts.
  const watching = `ltsp-nbd-persist: watching /dev/nbd1 (${ip}:10809 export ${exportName},`;
  const attach = await c.run(
    `ltsp-nbd-persist -i 1 ${ip} 10809 ${exportName} && nbd-client -N ${exportName} ${ip} ${dev} && ` +
      `for i in $(seq 50); do dmesg | grep -qF '${watching}' && break; sleep 0.2; done; dmesg | grep -F 'ltsp-nbd-persist' | grep -F nbd1; pgrep -af ltsp-nbd-persist`,
    step(`attach ${exportName}`),
  );
  expect(attach.output, `${exportName} attached as ${dev}, with its daemon watching it`).to.include(watching);
  await c.check(writerCommand(dev), step('start the writer'));
  const { event } = await underFault(lab, c.name, 'nbd-restart@login', { c, boot });
  await c.check(`touch ${WRITER_STOP}`, step('stop the writer'));
  const done = step('the writer to end');
  let log = '';
  while (!/^(last|failed) /m.test(log)) {
    if (done.remaining() < 1000) break;
    await done.sleep(1000);
    log = (await c.run(`cat ${WRITER_LOG} 2>/dev/null`, done)).output;
  }
  const last = Number(/^last (\d+)/m.exec(log)?.[1] ?? 0);
  const verify = last > 0 ? await c.check(verifyCommand(dev, last), step('read the writes back')) : '';
  await c.run(`nbd-client -d ${dev}; pkill -f 'ltsp-nbd-persist -i 1'`, step(`detach ${exportName}`));
  const wrong = verify.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('block '));
  const slow = [...log.matchAll(/^slow (\d+)/gm)].map((m) => Number(m[1]));
  return {
    event,
    writes: last,
    wrong,
    longestWriteMs: Math.max(0, ...slow),
    report: `${exportName}: writer log:\n${log.trim()}\nread back:\n${verify.trim()}\n${show(event)}`,
  };
}

function show(e: FaultEvent): string {
  return `${e.fault} on ${e.client}: ${e.outcome}: ${e.detail}\n${e.evidence.join('\n')}`;
}

describe('field faults: the stack under an NBD restart, link loss, packet loss and a dead HTTP server', function () {
  let lab: StartedLab | undefined;

  before(async function () {
    lab = await startSuiteLab(this.test!.parent!, (l) => l.withServerFiles(SCRATCH_EXPORTS.map((x) => ({ target: `/etc/nbd-server/conf.d/${x.name}.conf`, content: x.conf }))));
    // The exports' files, writable by nbd-server's user; nbd-server opens them at each connect.
    await lab.server.sh(SCRATCH_EXPORTS.map((x) => `truncate -s ${SCRATCH_MB}M ${x.file} && chown nbd:nbd ${x.file}`).join(' && '));
  });

  after(async function () {
    await lab?.server.sh('ltsp-server-ctl start http', true).catch(() => undefined);
    await lab?.stop();
  });

  // bookworm's nbd-client 3.24 sets /dev/nbd0 up over netlink and exits; the stack's
  // ltsp-nbd-persist (vm-images/client/root/src) sets the kernel's dead-connection
  // timeout and reconnects the device when the kernel announces the link dead. Without
  // it the first I/O after a restart kills the client for good.
  const persisted = (e: FaultEvent, c: StartedThinClient): string => {
    // The client's whole console since the fault: the event's evidence keeps only its first and last lines.
    const kernel = c.console.lines().filter((l) => l.t >= (e.appliedAt ?? 0)).map((l) => l.text).join('\n');
    // The restart reached the client: its connection went (the kernel's words vary with
    // where in a reply the socket died: "Receive control failed", "Receive data failed",
    // "Send control failed"; the daemon hears the link-dead event either way), and the
    // daemon brought it back.
    expect(kernel, show(e)).to.match(NBD_LINK_LOST);
    expect(kernel, show(e)).to.match(/ltsp-nbd-persist: reconnected to \S+ export root after \d+ tr(?:y|ies)/);
    return kernel;
  };

  it('nbd-restart@login: after nbd-server restarts through its init script, the client reads a root file it never read and writes its union', async function () {
    const { c, event } = await underFault(lab!, 'restart', 'nbd-restart@login');
    try {
      const [before, after] = nbdPids(event);
      expect(after, 'a new nbd-server process').to.not.equal(before);
      persisted(event, c);
      heldInFlight(event);
      expect(event.outcome, show(event)).to.equal('recovered');
      expect(event.recoveryMs, show(event)).to.be.a('number');
      expect(event.detail).to.match(/read \/usr\/lib\/x86_64-linux-gnu\/\S+ and wrote to the union/);
      // The read held in flight came back once the daemon reconnected, not at the kernel's request timer.
      expect(event.longestReadMs, `the guest's longest direct read under the fault\n${show(event)}`).to.be.a('number');
      expect(event.longestReadMs!, show(event)).to.be.below(RECOVERED_WITHOUT_THE_TIMER_MS);
      expect(event.recoveryMs!, show(event)).to.be.below(RECOVERED_WITHOUT_THE_TIMER_MS);
      expect(c.report().faults?.map((f) => `${f.fault} ${f.outcome}`)).to.deep.equal(['nbd-restart@login recovered']);
    } finally {
      await c.stop();
    }
  });

  it('nbd-restart@nbd: a restart just after the initramfs connected still ends at the login prompt', async function () {
    const { c, event, boot } = await underFault(lab!, 'restart-nbd', 'nbd-restart@nbd');
    try {
      const [before, after] = nbdPids(event);
      expect(after).to.not.equal(before);
      expect(event.appliedAt, 'applied after NBD connected').to.be.at.least(c.timeline.find((m) => m.stage === 'nbd')!.t);
      await boot;
      persisted(event, c);
      heldInFlight(event);
      expect(event.outcome, show(event)).to.equal('recovered');
      expect(c.timeline.map((m) => m.stage)).to.include('login');
      // The boot's read held in flight came back once the daemon reconnected: the next stage came soon after the restart.
      expect(event.recoveryMs, show(event)).to.be.a('number');
      expect(event.recoveryMs!, show(event)).to.be.below(RECOVERED_WITHOUT_THE_TIMER_MS);
    } finally {
      await c.stop();
    }
  });

  it('nbd-restart@login with a write in flight: on a writable export every write lands once, in order; on a copy-on-write export the restart drops them', async function () {
    const c = await startClient(lab!, 'writes');
    try {
      const boot = c.waitForBoot();
      await boot;
      const plain = await writesAcrossRestart(lab!, c, boot, 'scratch');
      heldInFlight(plain.event);
      expect(plain.event.outcome, show(plain.event)).to.equal('recovered');
      // A write was among the requests the restart met in flight (its header and its 4 KiB).
      expect(plain.event.heldRequest!.unread.some((b) => b >= 28 + 4096), show(plain.event)).to.equal(true);
      expect(plain.writes, plain.report).to.be.above(0);
      expect(plain.wrong, plain.report).to.deep.equal([]);
      expect(plain.longestWriteMs, plain.report).to.be.below(RECOVERED_WITHOUT_THE_TIMER_MS);
      // The same check on a copy-on-write export (as root-cow in read-only.e2e.ts): nbd-server
      // keeps the writes of a connection in a diff file of that connection, so what was written
      // before the restart is gone after the reconnect. The check sees it: it can fail.
      const cow = await writesAcrossRestart(lab!, c, boot, 'scratch-cow');
      expect(cow.event.outcome, show(cow.event)).to.equal('recovered');
      expect(cow.wrong.length, cow.report).to.be.above(0);
      expect(cow.wrong.join('\n'), cow.report).to.match(/^block \d+: \.+$/m);
    } finally {
      await c.stop();
    }
  });

  it('link-down:10@login: the NIC loses its link for 10 s, and the client works again once it is back', async function () {
    const c = await startClient(lab!, 'flap');
    try {
      const boot = c.waitForBoot();
      await boot;
      const carrier = async (): Promise<number> => Number(await c.check('cat /sys/class/net/lab0/carrier_changes'));
      const before = await carrier();
      const { event } = await underFault(lab!, 'flap', 'link-down:10@login', { c, boot });
      // The guest's NIC saw the link go and come back.
      expect(await carrier(), 'carrier changes: down and up').to.equal(before + 2);
      expect(event.endedAt! - event.appliedAt!, 'held about 10 s').to.be.within(9_500, 15_000);
      expect(event.outcome, show(event)).to.equal('recovered');
    } finally {
      await c.stop();
    }
  });

  it('loss:5: with 5 % of its frames dropped for the whole boot, the client still reaches login', async function () {
    const { c, event } = await underFault(lab!, 'lossy', 'loss:5');
    try {
      expect(await c.lostFrames(Deadline.after(budgetMs('faultStep'), 'count the lost frames')), 'frames dropped on the bridge').to.be.above(0);
      expect(event.outcome, show(event)).to.equal('survived');
      expect(c.timeline.map((m) => m.stage)).to.include('login');
    } finally {
      await c.stop();
    }
  });

  it('http-stop@ipxe: with the HTTP server stopped before the fetch, the boot fails at "kernel and initramfs fetched" on iPXE\'s own error', async function () {
    const { c, event, boot } = await underFault(lab!, 'nohttp', 'http-stop@ipxe');
    try {
      expect(event.evidence.join('\n')).to.match(/server: http stopped/);
      const err = await rejection(boot);
      expect(err, 'the boot must fail').to.be.instanceOf(BootStageError);
      const e = err as BootStageError;
      expect(e.stage).to.match(/kernel and initramfs fetched/);
      // iPXE's own error ended the wait, not a timeout.
      expect(e.cause instanceof ConsoleWaitError ? e.cause.reason : undefined, e.message).to.equal('failure-pattern');
      expect(e.consoleTail.join('\n')).to.match(/Connection refused|Could not boot|No more network devices/);
      expect(event.outcome).to.equal('failed');
    } finally {
      await lab!.server.sh('ltsp-server-ctl start http');
      await c.stop();
    }
  });
});

describe('field faults: the server killed under a running client', function () {
  let lab: StartedLab | undefined;

  before(async function () {
    lab = await startSuiteLab(this.test!.parent!);
  });

  after(async function () {
    await lab?.stop();
  });

  it('server-kill@login: with the server gone for good, the client cannot read its root; pinned: its NBD link dead, no reconnect, no probe passes', async function () {
    const { c, event } = await underFault(lab!, 'orphan', 'server-kill@login');
    try {
      const state = await execCommand('docker', ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', lab!.server.getId()], { deadline: Deadline.after(budgetMs('faultStep'), 'server state') });
      expect(state.stdout.trim(), 'the server container was killed').to.equal('exited 137');
      expect(event.evidence.join('\n')).to.match(/server container killed/);
      expect(event.outcome, show(event)).to.equal('failed');
      const kernel = event.evidence.filter((l) => l.startsWith(`${c.name} [`)).join('\n');
      expect(kernel, show(event)).to.match(/ltsp-nbd-persist: link dead on \/dev\/nbd0/);
      expect(kernel, show(event)).to.not.match(/ltsp-nbd-persist: reconnected/);
    } finally {
      await c.stop();
    }
  });
});
