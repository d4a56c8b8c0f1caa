import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { FIXTURES_DIR } from '../common/paths';
import { HarnessError, UsageError } from '../common/errors';

export const TRACE_FORMAT = 'ltsp-lab-nbd-trace/1';

/** The boot trace ./lab storm replays, and ./lab storm --record refreshes. */
export const DEFAULT_TRACE = join(FIXTURES_DIR, 'traces', 'boot.jsonl.gz');

/**
 * One request as the server saw it: [t, type, offset, length, replyT], ms since the
 * connection was accepted (replyT null when no reply went back, as for NBD_CMD_DISC).
 */
export type TraceRow = [t: number, type: number, offset: number, length: number, replyT: number | null];

export interface TraceHeader {
  format: typeof TRACE_FORMAT;
  /** The root image's key (vm-images/build.sh --keys, "root") the trace was recorded against. */
  imageKey: string;
  exportName: string;
  /** NBD_OPT_* the client sent, in order (what a replay repeats). */
  options: string[];
  client: string;
  recordedAt: string;
  /** ms since accept when the export was open (the handshake's end). */
  transmissionMs: number;
  /** ms since accept when the client's login prompt appeared (the recording's end). */
  loginMs: number;
  /** The most requests the real client had in flight at once. */
  maxInFlight: number;
  /** NBD connections the client made during the boot; the trace is the one that carried the root. */
  connections: number;
  requests: number;
  bytesRead: number;
}

export interface Trace {
  header: TraceHeader;
  rows: TraceRow[];
}

/** JSON lines, gzipped: the header, then one row a line. */
export function writeTrace(path: string, trace: Trace): void {
  mkdirSync(dirname(path), { recursive: true });
  const text = [JSON.stringify(trace.header), ...trace.rows.map((r) => JSON.stringify(r))].join('\n') + '\n';
  writeFileSync(path, gzipSync(text, { level: 9 }));
}

export function readTrace(path: string): Trace {
  if (!existsSync(path)) {
    throw new UsageError(`no boot trace at ${relative(process.cwd(), path) || path}`, { hint: RECORD_HINT });
  }
  let lines: string[];
  try {
    lines = gunzipSync(readFileSync(path)).toString('utf8').trim().split('\n');
  } catch (e) {
    throw new UsageError(`the boot trace ${path} is not a gzipped trace: ${(e as Error).message}`, { hint: RECORD_HINT });
  }
  const header = JSON.parse(lines[0] ?? '{}') as TraceHeader;
  if (header.format !== TRACE_FORMAT) {
    throw new UsageError(`the boot trace ${path} is of format '${String(header.format)}', not ${TRACE_FORMAT}`, { hint: RECORD_HINT });
  }
  const rows = lines.slice(1).map((l) => JSON.parse(l) as TraceRow);
  if (rows.length !== header.requests) throw new HarnessError(`the boot trace ${path} says ${header.requests} requests but holds ${rows.length}`);
  return { header, rows };
}

const RECORD_HINT = 'record one against the current image: qslot 1 ./lab storm --record';

/**
 * A trace is replayed only against the image it was recorded on: another image puts
 * its files at other offsets, so the replay would read the wrong blocks (exit 2).
 */
export function checkTraceKey(trace: Trace, imageKey: string, path: string): void {
  if (trace.header.imageKey !== imageKey) {
    throw new UsageError(
      `the boot trace ${relative(process.cwd(), path) || path} was recorded against root image ${trace.header.imageKey}, and the current root image is ${imageKey}: its offsets would read other blocks`,
      { hint: RECORD_HINT },
    );
  }
}
