import type { StormResult } from './storm';

const s = (ms: number): string => (Number.isNaN(ms) ? '-' : (ms / 1000).toFixed(2));

/** What ./lab storm prints: each storm's figures, its clients' and the real clients' timelines. */
export function formatStorm(r: StormResult, perClient = true): string {
  const out: string[] = [];
  out.push(`storm: ${r.clients} replayed client(s), pace ${r.pace}, jitter ${r.jitterMs} ms; trace of ${r.trace.reads} reads (recorded: export open -> last reply ${s(r.trace.recordedReplayMs)} s)`);
  out.push(`  replay time s: p50 ${s(r.summary.totalP50Ms)}  p95 ${s(r.summary.totalP95Ms)}  max ${s(r.summary.totalMaxMs)};  read latency ms: p50 ${r.summary.latP50Ms}  p95 ${r.summary.latP95Ms}  max ${r.summary.latMaxMs}`);
  out.push(`  server: CPU ${r.server.cpuSeconds} s (${r.server.cpuPercent} %), memory peak ${r.server.peakMemoryMiB} MiB, nbd-server RSS peak ${r.server.peakNbdRssMiB} MiB in ${r.server.peakNbdProcesses} process(es) / ${r.server.peakNbdThreads} threads, ${r.server.peakConnections} connections at most, ${(r.server.bytesServed / 2 ** 20).toFixed(1)} MiB sent; its threads waited ${(r.server.nbdRunDelayMs / 1000).toFixed(2)} s for a CPU (${r.summary.completed ? (r.server.nbdRunDelayMs / r.summary.completed).toFixed(2) : "-"} ms a read)`);
  out.push(`  harness (the replaying process): CPU ${r.harness.cpuPercent} % of a core; host load average ${r.hostLoad}`);
  out.push(`  ${r.summary.completed} reads completed, ${r.summary.errors} error(s)`);
  if (perClient) {
    out.push('  client  start s  open s  total s  p50 ms  p95 ms  max ms  reads      verified  errors');
    for (const c of r.replayed) {
      out.push(`  ${c.name.padEnd(6)}  ${s(c.startMs).padStart(7)}  ${s(c.handshakeMs).padStart(6)}  ${s(c.totalMs).padStart(7)}  ${String(c.p50Ms).padStart(6)}  ${String(c.p95Ms).padStart(6)}  ${String(c.maxMs).padStart(6)}  ${`${c.completed}/${c.planned}`.padEnd(9)}  ${String(c.verified).padStart(8)}  ${c.errors.length}`);
    }
  }
  for (const c of r.replayed) for (const e of c.errors.slice(0, 5)) out.push(`  error ${c.name} read #${e.read}${e.offset === undefined ? '' : ` (offset ${e.offset}, ${e.length} bytes)`}: ${e.what}`);
  for (const c of r.real) {
    if (c.error) {
      out.push(`  real ${c.name}: started at ${s(c.startMs)} s, failed: ${c.error}`);
      continue;
    }
    out.push(`  real ${c.name}: started at ${s(c.startMs)} s into the storm, login ${s(c.loginMs)} s after QEMU start`);
    out.push(`    ${c.marks.map((m) => `${m.stage} ${s(m.t)}`).join('  ')}`);
  }
  return out.join('\n');
}
