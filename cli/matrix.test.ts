import { expect } from 'chai';
import { UsageError } from '../harness/index';
import { parseMatrixArgs } from './matrix';

describe('./lab matrix arguments', () => {
  it('nbd: every server and client version by default, or the lists given', () => {
    expect(parseMatrixArgs(['nbd'])).to.deep.equal({ servers: ['3.21', '3.24', '3.26', '3.27', 'oldstyle'], clients: ['3.21', '3.24', '3.26', '3.27'], kind: 'ltsp', atOnce: 2 });
    expect(parseMatrixArgs(['nbd', '--servers', '3.24,oldstyle', '--clients=3.21,3.24', '--client', 'ltsp', '--at-once', '1'])).to.deep.equal({ servers: ['3.24', 'oldstyle'], clients: ['3.21', '3.24'], kind: 'ltsp', atOnce: 1 });
    expect(() => parseMatrixArgs(['nbd', '--at-once', '3'])).to.throw(UsageError, '--at-once 3 is out of range: give 1 to 2');
  });

  it('refuses a bad version naming the known ones, an empty or doubled value, and another subject', () => {
    expect(() => parseMatrixArgs(['nbd', '--servers', '3.24,2.9'])).to.throw(UsageError, "--nbd-server '2.9' is not one of 3.21, 3.24, 3.26, 3.27, oldstyle");
    expect(() => parseMatrixArgs(['nbd', '--clients', 'oldstyle'])).to.throw(UsageError, "--nbd-client 'oldstyle' is not one of 3.21, 3.24, 3.26, 3.27");
    expect(() => parseMatrixArgs(['nbd', '--clients', '3.21,'])).to.throw(UsageError, 'has an empty value');
    expect(() => parseMatrixArgs(['nbd', '--clients', '3.21,3.21'])).to.throw(UsageError, 'names 3.21 twice');
    expect(() => parseMatrixArgs(['nfs'])).to.throw(UsageError, "no grid 'nfs'");
    expect(() => parseMatrixArgs([])).to.throw(UsageError, 'needs a subject: nbd');
  });
});
