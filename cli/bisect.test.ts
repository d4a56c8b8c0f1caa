import { expect } from 'chai';
import { resolve } from 'node:path';
import { repoRoot, UsageError } from '../harness/index';
import { parseBisectArgs } from './bisect';

describe('./lab bisect arguments', () => {
  it('GOOD and BAD, wherever the options stand; the default criterion is a boot to login, in this checkout', () => {
    expect(parseBisectArgs(['v1', 'HEAD'])).to.deep.equal({ good: 'v1', bad: 'HEAD', repo: repoRoot(), criterion: { kind: 'boot' }, clients: 1, memoryMb: 384, client: { kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' } });
    const a = parseBisectArgs(['--repo', '/tmp/x', 'abc', '--stage', 'nbd', 'def', '--budget=30']);
    expect(a).to.deep.include({ good: 'abc', bad: 'def', repo: resolve('/tmp/x'), criterion: { kind: 'stage', stage: 'nbd', budgetS: 30 } });
    expect(parseBisectArgs(['a', 'b', '--slower-than-baseline']).criterion).to.deep.equal({ kind: 'gate' });
    expect(parseBisectArgs(['a', 'b', '--append', 'rd.debug', '--clients', '2', '--report', 'r'])).to.deep.include({ append: 'rd.debug', clients: 2, reportDir: 'r' });
    // History from before the ltsp client bisects the stock one.
    expect(parseBisectArgs(['a', 'b', '--client', 'stock', '--union', 'overlayfs']).client).to.deep.equal({ kind: 'stock', nbdClient: '3.24', stack: 'k12', union: 'overlayfs' });
    expect(() => parseBisectArgs(['a', 'b', '--union', 'aufs'])).to.throw(/--union 'aufs' is not one of unionfs-fuse, overlayfs, none/);
    expect(parseBisectArgs(['a', 'b', '--client', 'stock']).client).to.deep.equal({ kind: 'stock', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' });
  });

  const bad: [string[], RegExp][] = [
    [[], /bisect takes two commits, GOOD and BAD \(got 0\)/],
    [['a'], /got 1: a/],
    [['a', 'b', 'c'], /unexpected argument 'c'/],
    [['a', 'b', '--stage', 'nbdd'], /--stage 'nbdd' is not one of ipxe, dhcp/],
    [['a', 'b', '--budget', '10'], /--budget is for --stage/],
    [['a', 'b', '--stage', 'nbd', '--budget', 'soon'], /--budget 'soon' is not a whole number/],
    [['a', 'b', '--stage', 'nbd', '--slower-than-baseline'], /--stage and --slower-than-baseline do not go together/],
    [['a', 'b', '--clients', '3'], /--clients 3 is out of range: give 1 to 2/],
    [['a', 'b', '--colour'], /unknown option '--colour'/],
    [['a', 'b', '--repo'], /--repo needs a value/],
    [['a', 'b', '--stage', 'nbd', '--stage', 'root'], /--stage is given twice/],
    [['a', 'b', '--append', 'x\ny'], /--append contains a newline/],
    [['a', 'b', '--client', 'k12'], /--client 'k12' is not one of ltsp, stock/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${JSON.stringify(argv)}`, () => {
      expect(() => parseBisectArgs(argv)).to.throw(UsageError, message);
    });
  }
});
