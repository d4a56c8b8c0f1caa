import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatFaultEvents, holdAnswer, holdRequestScript, parseHold, probeReadFile, type FaultEvent } from './fault-run';

describe('formatFaultEvents', () => {
  it('prints a row per client and fault, with what happened and the evidence under it', () => {
    const events: FaultEvent[] = [
      { fault: 'link-down:10@login', kind: 'link-down', client: 'c1', appliedAt: 35_012, endedAt: 45_230, outcome: 'recovered', recoveryMs: 1_840, detail: 'works again: 1.8 s after the fault ended', evidence: ['qmp: set_link c1 off', 'qmp: set_link c1 on'] },
      { fault: 'nbd-restart@nbd', kind: 'nbd-restart', client: 'c2', outcome: 'not-reached', detail: 'c2 never reached nbd', evidence: [] },
    ];
    expect(formatFaultEvents(events).split('\n')).to.deep.equal([
      "faults (seconds since the client's QEMU start)",
      'fault               client  applied  ended  outcome      recovery',
      '------------------  ------  -------  -----  -----------  --------',
      'link-down:10@login  c1         35.0   45.2  recovered       1.8 s',
      '    works again: 1.8 s after the fault ended',
      '      qmp: set_link c1 off',
      '      qmp: set_link c1 on',
      'nbd-restart@nbd     c2            -      -  not-reached         -',
      '    c2 never reached nbd',
    ]);
    expect(formatFaultEvents([])).to.equal('');
  });
});

describe('holdRequestScript', () => {
  // The script under sh, with ss, pgrep, kill and the pid file faked by shell functions: ss
  // answers from a script of Recv-Q values, one line per connection of the client, a call at a time.
  const run = (recvQ: string[][], waitMs = 500, children = '200 201', cycleMs?: number): { out: string; kills: string[] } => {
    const dir = mkdtempSync(join(tmpdir(), 'hold-'));
    try {
      writeFileSync(join(dir, 'calls'), '0');
      const answers = recvQ.map((call, i) => `${i}) ${call.map((q, k) => `echo "${q} 0 10.0.0.1:10809 10.0.0.10:${4000 + k}"`).join('; ')} ;;`).join('\n');
      const fakes = [
        `ss() { n=$(cat ${dir}/calls); echo $((n + 1)) > ${dir}/calls; [ $n -ge ${recvQ.length} ] && n=$((${recvQ.length} - 1)); case $n in`,
        answers,
        'esac; }',
        `pgrep() { [ "$*" = "-P 100" ] && for p in ${children}; do echo $p; done; }`,
        `kill() { echo "$*" >> ${dir}/kills; }`,
        `cat() { [ "$1" = /var/run/nbd-server.pid ] && echo 100 || command cat "$@"; }`,
      ].join('\n');
      const out = execFileSync('sh', ['-c', `${fakes}\n${holdRequestScript('10.0.0.10', waitMs, cycleMs)}`], { encoding: 'utf8' });
      const kills = existsSync(join(dir, 'kills')) ? readFileSync(join(dir, 'kills'), 'utf8').trim().split('\n') : [];
      return { out: out.trim(), kills };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("stops nbd-server's connection processes and answers once a request of the client is unread", () => {
    const r = run([['0'], ['0'], ['0'], ['28']]);
    expect(r.kills).to.deep.equal(['-STOP 200 201']);
    expect(parseHold(r.out)).to.deep.include({ stopped: [200, 201], unread: [28] });
  });

  it("the hold's answer is its own line, wherever other output puts it", () => {
    const held = holdAnswer('held 125 200,201 28\nkill: (202) - No such process\n');
    expect(held).to.deep.include({ stopped: [200, 201], unread: [28], waitedMs: 125 });
    expect(holdAnswer('ss: warning\nnone: no request from 10.0.0.2 in 10000 ms\n')).to.equal('none: no request from 10.0.0.2 in 10000 ms');
  });

  it('with two connections of the client, waits for a request on each (a read and a write)', () => {
    const r = run([['0', '0'], ['28', '0'], ['28', '4124']]);
    expect(parseHold(r.out)).to.deep.include({ stopped: [200, 201], unread: [28, 4124] });
  });

  it('a request the stopped process had already read shows in no queue: after a cycle with nothing unread it lets the processes answer, stops them again, and holds the next request', () => {
    // Five polls with nothing unread (a cycle of 100 ms is about two of them), then the next request.
    const r = run([['0'], ['0'], ['0'], ['0'], ['0'], ['28']], 5000, '200 201', 100);
    expect(r.kills.slice(0, 3)).to.deep.equal(['-STOP 200 201', '-CONT 200 201', '-STOP 200 201']);
    expect(r.kills.at(-1), 'held: stopped at the end').to.equal('-STOP 200 201');
    expect(parseHold(r.out)).to.deep.include({ stopped: [200, 201], unread: [28] });
  });

  it('lets the server go on and says so when no request comes', () => {
    const r = run([['0']], 200);
    expect(r.kills).to.deep.equal(['-STOP 200 201', '-CONT 200 201']);
    expect(parseHold(r.out)).to.equal('none: no request from 10.0.0.10 in 200 ms');
  });

  it('says so, and stops nothing, when the client has no connection', () => {
    const r = run([[]]);
    expect(r.kills).to.deep.equal([]);
    expect(parseHold(r.out)).to.equal('none: no NBD connection from 10.0.0.10');
  });
});

describe('probeReadFile', () => {
  it("finds the probe's read line among the kernel lines the serial console interleaves, wherever it falls", () => {
    // Seen in CI: a kernel line after the probe's last line pushed the read line off a fixed place.
    const out = [
      '[   41.203119] block nbd0: Receive control failed (result -32)',
      'read /usr/lib/x86_64-linux-gnu/libz.so.1.2.13',
      '[   41.913006] ltsp-nbd-persist: reconnected to 10.13.0.2 export root after 1 try',
      'ltsp-fault-probe-3',
    ].join('\r\n');
    expect(probeReadFile(out)).to.equal('/usr/lib/x86_64-linux-gnu/libz.so.1.2.13');
    expect(probeReadFile('read /usr/lib/x86_64-linux-gnu/libc.so.6\nltsp-fault-probe-1')).to.equal('/usr/lib/x86_64-linux-gnu/libc.so.6');
  });

  it('finds none when the probe printed no read line', () => {
    expect(probeReadFile('ls: cannot access ...: Input/output error')).to.equal(undefined);
  });
});
