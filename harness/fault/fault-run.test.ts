import { expect } from 'chai';
import { formatFaultEvents, type FaultEvent } from './fault-run';

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
