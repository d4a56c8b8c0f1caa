import { expect } from 'chai';
import type { StartedThinClient } from '../boot/thin-client';
import type { StartedLab } from './lab';
import { RUN_FILE_SCHEMA } from './run-file';
import { RunPublisher } from './run-publisher';

/** What RunPublisher reads of a client, as a booting, an up, a failed and a kept one look. */
function client(name: string, over: Record<string, unknown> = {}): StartedThinClient {
  return {
    name,
    mac: '52:54:00:4c:30:01',
    client: { kind: 'stock' },
    timeline: [{ stage: 'ipxe', label: 'iPXE start', t: 1000, line: 'iPXE 1.21' }],
    state: 'booting',
    dir: `/tmp/reports/boot-x/${name}`,
    onStage: () => undefined,
    ...over,
  } as unknown as StartedThinClient;
}

describe('run publisher: the run file it writes is one run-file.schema.json takes', () => {
  const lab = { run: { id: 'abc123', owner: '4242:99', stateDir: '/nonexistent' }, reportDir: '/tmp/reports/boot-x' } as unknown as StartedLab;

  it('booting, up, failed and kept clients', () => {
    const clients = [
      client('c1'),
      client('c2', { state: 'up', leaseIp: '10.213.1.101' }),
      client('c3', { state: 'failed', failedStage: 'nbd', timeline: [] }),
      client('c4', { state: 'shell' }),
    ];
    const p = new RunPublisher(lab, () => clients, { command: './lab boot --keep', startedAt: new Date('2026-12-07T13:00:00Z') });
    p.keep(new Map([['c4', '/run/ltsp-lab/abc123/c4/console.sock']]));
    const data = p.data();
    expect(RUN_FILE_SCHEMA.errors(data)).to.deep.equal([]);
    expect(data.clients.map((c) => c.stage)).to.deep.equal(['iPXE start', 'iPXE start', 'powered on', "dracut's emergency shell"]);
    expect(RUN_FILE_SCHEMA.errors({ ...data, pid: 'x' }), 'and the schema can refuse one').to.deep.equal(['/pid: must be integer']);
  });
});
