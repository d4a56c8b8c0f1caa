import { Deadline } from '../common/deadline';
import { budgetMs } from '../common/budgets';
import { HarnessError, SutError } from '../common/errors';
import type { StartedLab } from '../lab/lab';
import { bootConnection, RecordProxy, traceRows } from './record-proxy';
import { TRACE_FORMAT, writeTrace, type Trace } from './trace';

/**
 * One real boot of client `name` through the recording relay, handshake to login,
 * written as the trace at `path`. The client is stopped after (its root goes with the relay).
 */
export async function recordBoot(lab: StartedLab, path: string, name = 'c1'): Promise<Trace> {
  const proxy = await RecordProxy.start(lab.server.getId(), lab.server.ip, Deadline.after(budgetMs('faultStep'), 'start the recording relay'));
  let loginAt = 0;
  let conns: Awaited<ReturnType<RecordProxy['stop']>> = [];
  try {
    const client = await lab.client(name).start();
    try {
      await client.waitForBoot();
      loginAt = Date.now();
    } finally {
      await client.stop();
    }
  } finally {
    // Stopped after the client: the relay's stop would cut its root from under it.
    conns = await proxy.stop(Deadline.after(budgetMs('teardown'), 'stop the recording relay'));
  }
  const boot = bootConnection(conns);
  if (!boot || boot.requests.length === 0) throw new SutError(`the recording relay saw no NBD request during ${name}'s boot (${conns.length} connection(s))`);
  if (boot.lost) throw new HarnessError(`the recording relay could not frame ${name}'s NBD stream: ${boot.lost}`);
  const rows = traceRows(boot);
  const trace: Trace = {
    header: {
      format: TRACE_FORMAT,
      imageKey: lab.manifest.keys.root as string,
      exportName: boot.exportName ?? 'root',
      options: boot.options,
      client: lab.defaultClient.kind,
      recordedAt: new Date().toISOString(),
      transmissionMs: boot.transmissionT ?? 0,
      loginMs: loginAt - boot.acceptedAt,
      maxInFlight: boot.maxInFlight,
      connections: conns.length,
      requests: rows.length,
      bytesRead: rows.reduce((s, r) => s + (r[1] === 0 ? r[3] : 0), 0),
    },
    rows,
  };
  writeTrace(path, trace);
  return trace;
}
