import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../common/errors';
import { percentile, planReads } from './replay-plan';
import { checkTraceKey, DEFAULT_TRACE, readTrace, TRACE_FORMAT, writeTrace, type Trace } from './trace';

const trace = (rows: Trace['rows'], imageKey = 'aaaa'): Trace => ({
  header: { format: TRACE_FORMAT, imageKey, exportName: 'root', options: ['NBD_OPT_GO'], client: 'stock', recordedAt: '', transmissionMs: 1, loginMs: 100, maxInFlight: 2, connections: 1, requests: rows.length, bytesRead: 0 },
  rows,
});

describe('boot traces: stored with their image key, refused against another image', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'trace-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips through the gzipped JSON lines', () => {
    const t = trace([[1, 0, 0, 4096, 2], [3, 0, 4096, 512, null]]);
    writeTrace(join(dir, 't.gz'), t);
    expect(readTrace(join(dir, 't.gz'))).to.deep.equal(t);
  });

  it('refuses a trace recorded against another root image (exit 2), saying how to record one', () => {
    const e = (() => {
      try {
        checkTraceKey(trace([], 'old0'), 'new1', join(dir, 't.gz'));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).to.be.instanceOf(UsageError);
    expect((e as UsageError).exitCode).to.equal(2);
    expect((e as UsageError).message).to.match(/recorded against root image old0, and the current root image is new1/);
    expect((e as UsageError).hint).to.match(/qslot 1 \.\/lab storm --record/);
    expect(() => checkTraceKey(trace([], 'same'), 'same', 'x')).to.not.throw();
  });

  it('refuses a missing file and a file that is not a trace, as usage errors', () => {
    expect(() => readTrace(join(dir, 'none.gz'))).to.throw(UsageError, /no boot trace/);
    writeFileSync(join(dir, 'plain'), 'hello');
    expect(() => readTrace(join(dir, 'plain'))).to.throw(UsageError, /not a gzipped trace/);
  });

  it('the committed trace is of this format and its requests all there', () => {
    const t = readTrace(DEFAULT_TRACE);
    expect(t.rows.length).to.equal(t.header.requests).and.to.be.above(100);
    expect(t.header.exportName).to.equal('root');
  });
});

describe('planReads: each read tied to the reply it waited for', () => {
  it('takes the last reply before a read was sent as its dependency, and the time after it', () => {
    const plan = planReads(trace([
      [0, 0, 0, 10, 50], // read 0, answered at 50
      [5, 0, 10, 10, 20], // read 1, sent with read 0 in flight, answered at 20
      [30, 0, 20, 10, 40], // read 2: after read 1's reply (20), 10 ms later
      [31, 2, 0, 0, null], // NBD_CMD_DISC: not replayed
      [60, 0, 30, 10, 70], // read 3: after read 0's reply (50, the last before 60)
    ]));
    expect(plan.map((p) => [p.offset, p.gapMs, p.dep, p.afterDepMs])).to.deep.equal([
      [0, 0, -1, 0],
      [10, 5, -1, 0],
      [20, 25, 1, 10],
      [30, 30, 0, 10],
    ]);
  });

  it('percentile: nearest rank', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).to.equal(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 100], 95)).to.equal(19);
    expect(percentile([], 50)).to.be.NaN;
  });
});
