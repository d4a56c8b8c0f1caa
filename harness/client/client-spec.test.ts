import { expect } from 'chai';
import Ajv from 'ajv';
import { UsageError } from '../common/errors';
import {
  CLIENT_DIMENSIONS,
  CLIENT_KINDS,
  clientKey,
  clientLabel,
  clientSpec,
  clientSpecArgv,
  clientSpecProblem,
  clientSpecSchema,
  DEFAULT_CLIENT_SPEC,
  describeClientValues,
  parseClientValue,
  sameClient,
} from './client-spec';

type ClientSpecGiven = Parameters<typeof clientSpec>[0];

describe('ClientSpec: what a client boots', () => {
  it('knows two kinds, ltsp (the default) and stock, from one table', () => {
    expect(CLIENT_KINDS).to.deep.equal(['ltsp', 'stock']);
    expect(CLIENT_KINDS).to.equal(CLIENT_DIMENSIONS.kind.values);
    expect(DEFAULT_CLIENT_SPEC).to.deep.equal({ kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' });
    expect(clientSpec()).to.deep.equal(DEFAULT_CLIENT_SPEC);
    expect(clientSpec({ kind: 'stock' })).to.deep.equal({ kind: 'stock', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' });
    expect(Object.isFrozen(clientSpec({ kind: 'stock' }))).to.equal(true);
  });

  it('an unknown value is a usage error naming the option, the known values and what each is', () => {
    expect(() => parseClientValue('kind', 'nfs')).to.throw(UsageError, "--client 'nfs' is not one of ltsp, stock");
    expect(() => clientSpec({ kind: 'Stock' })).to.throw(UsageError, "--client 'Stock' is not one of ltsp, stock");
    const e = (() => {
      try {
        parseClientValue('kind', '');
      } catch (x) {
        return x;
      }
      return expect.fail('no error');
    })();
    expect((e as UsageError).hint).to.match(/^ltsp: the lab's LTSP-only kernel .*; stock: Debian's stock kernel/);
    expect(parseClientValue('kind', 'stock')).to.equal('stock');
  });

  it('reads a spec from a file strictly: every dimension known, nothing else', () => {
    expect(clientSpecProblem({ kind: 'ltsp' })).to.equal(undefined);
    expect(clientSpecProblem({ kind: 'nfs' })).to.equal('kind is "nfs", not one of ltsp, stock');
    expect(clientSpecProblem({})).to.equal('kind is undefined, not one of ltsp, stock');
    expect(clientSpecProblem({ kind: 'ltsp', overlay: 'yes' })).to.equal("it has an unknown dimension 'overlay'");
    expect(clientSpecProblem({ kind: 'ltsp', union: 'overlayfs' })).to.equal(undefined);
    expect(clientSpecProblem({ kind: 'ltsp', union: 'aufs' })).to.equal('union is "aufs", not one of unionfs-fuse, overlayfs, none');
    expect(clientSpecProblem({ kind: 'ltsp', stack: 'nfs' })).to.equal('stack is "nfs", not one of k12, ltsp23');
    // A record from before the stack existed booted the k12 stack; the first dimension is never optional.
    expect(clientSpecProblem({ kind: 'stock', stack: 'ltsp23' })).to.equal(undefined);
    expect(clientSpecProblem({ stack: 'ltsp23' })).to.equal('kind is undefined, not one of ltsp, stock');
    expect(clientSpecProblem('ltsp')).to.equal('not an object');
    expect(clientSpecProblem(null)).to.equal('not an object');
  });

  it('labels and keys: what a person reads, and a file-name-safe key (the gate\'s baseline per kind)', () => {
    expect(clientLabel(clientSpec({ kind: 'stock' }))).to.equal('stock');
    expect(clientKey(clientSpec({ kind: 'ltsp' }))).to.equal('ltsp');
    expect(sameClient(clientSpec({ kind: 'ltsp' }), DEFAULT_CLIENT_SPEC)).to.equal(true);
    expect(sameClient(clientSpec({ kind: 'ltsp' }), clientSpec({ kind: 'stock' }))).to.equal(false);
    // A later dimension at its default is left out, so a baseline's key (tcg-2cpu-ltsp, tcg-2cpu-stock) stays; away from it, it is named.
    expect(clientKey(clientSpec({ stack: 'ltsp23' }))).to.equal('stock-stack-ltsp23');
    expect(clientLabel(clientSpec({ stack: 'ltsp23' }))).to.equal('stock stack ltsp23');
    expect(sameClient(clientSpec({ stack: 'ltsp23' }), DEFAULT_CLIENT_SPEC)).to.equal(false);
    // A spec read from a file older than the stack booted k12.
    expect(sameClient({ kind: 'ltsp', nbdClient: '3.24' } as unknown as ReturnType<typeof clientSpec>, DEFAULT_CLIENT_SPEC)).to.equal(true);
    expect(sameClient({ kind: 'stock', nbdClient: '3.24' } as unknown as ReturnType<typeof clientSpec>, clientSpec({ kind: 'stock' }))).to.equal(true);
  });

  it('the stack: k12 by default; ltsp23 boots what its image holds, so it fixes the kind and the nbd-client', () => {
    expect(() => clientSpec({ stack: 'ltsp5' })).to.throw(UsageError, "--stack 'ltsp5' is not one of k12, ltsp23");
    // A dimension not given takes what the stack fixes, not its own default (the kind's is ltsp).
    expect(clientSpec({ stack: 'ltsp23' })).to.deep.equal({ kind: 'stock', nbdClient: '3.24', stack: 'ltsp23', union: 'overlayfs' });
    expect(clientSpec({ stack: 'ltsp23', kind: 'stock', nbdClient: '3.24' })).to.deep.equal(clientSpec({ stack: 'ltsp23' }));
    expect(() => clientSpec({ stack: 'ltsp23', kind: 'ltsp' })).to.throw(UsageError, '--client ltsp is for the k12 stack: the ltsp23 stack boots what its image holds (--client stock)');
    expect(() => clientSpec({ stack: 'ltsp23', nbdClient: '3.21' })).to.throw(UsageError, '--nbd-client 3.21 is for the k12 stack');
    expect(clientSpec({ stack: 'k12', kind: 'ltsp', nbdClient: '3.21' })).to.deep.equal({ kind: 'ltsp', nbdClient: '3.21', stack: 'k12', union: 'unionfs-fuse' });
  });

  it('the union: unionfs-fuse by default, overlayfs or none on the k12 stack; the ltsp23 stack lays its own overlayfs', () => {
    expect(() => clientSpec({ union: 'bogus' })).to.throw(UsageError, "--union 'bogus' is not one of unionfs-fuse, overlayfs, none");
    expect(clientSpec({ union: 'overlayfs' })).to.deep.equal({ ...DEFAULT_CLIENT_SPEC, union: 'overlayfs' });
    // The default keeps its label and key (fixtures/baselines/tcg-2cpu-ltsp.json); another method is named.
    expect(clientKey(clientSpec({ union: 'unionfs-fuse' }))).to.equal('ltsp');
    expect(clientLabel(clientSpec({ union: 'overlayfs' }))).to.equal('ltsp union overlayfs');
    expect(clientKey(clientSpec({ kind: 'stock', union: 'none' }))).to.equal('stock-union-none');
    expect(sameClient(clientSpec({ union: 'overlayfs' }), DEFAULT_CLIENT_SPEC)).to.equal(false);
    expect(sameClient(clientSpec({ union: 'overlayfs' }), clientSpec({ union: 'none' }))).to.equal(false);
    // LTSP's overlay is its stack's: not shown, and not the user's to choose.
    expect(clientSpec({ stack: 'ltsp23' }).union).to.equal('overlayfs');
    expect(clientLabel(clientSpec({ stack: 'ltsp23', union: 'overlayfs' }))).to.equal('stock stack ltsp23');
    expect(() => clientSpec({ stack: 'ltsp23', union: 'unionfs-fuse' })).to.throw(UsageError, '--union unionfs-fuse is for the k12 stack: the ltsp23 stack boots what its image holds (--union overlayfs)');
    expect(() => clientSpec({ stack: 'ltsp23', union: 'none' })).to.throw(UsageError, '--union none is for the k12 stack');
  });

  it('a spec from before the union read as its stack booted: k12 with unionfs-fuse, ltsp23 with its overlayfs', () => {
    const old = (o: object): ReturnType<typeof clientSpec> => o as ReturnType<typeof clientSpec>;
    expect(sameClient(old({ kind: 'ltsp', nbdClient: '3.24', stack: 'k12' }), DEFAULT_CLIENT_SPEC)).to.equal(true);
    expect(sameClient(old({ kind: 'ltsp' }), clientSpec({ union: 'overlayfs' }))).to.equal(false);
    expect(sameClient(old({ kind: 'stock', nbdClient: '3.24', stack: 'ltsp23' }), clientSpec({ stack: 'ltsp23' }))).to.equal(true);
    expect(clientLabel(old({ kind: 'stock', stack: 'ltsp23' }))).to.equal('stock stack ltsp23');
    expect(clientKey(old({ kind: 'ltsp' }))).to.equal('ltsp');
  });

  it('its JSON Schema comes from the same table: the known kinds and nothing else validate', () => {
    const validate = new Ajv({ strict: true }).compile(clientSpecSchema());
    for (const kind of CLIENT_KINDS) expect(validate({ kind }), kind).to.equal(true);
    expect(validate({ kind: 'nfs' })).to.equal(false);
    expect(validate({})).to.equal(false);
    expect(validate({ kind: 'ltsp', extra: 1 })).to.equal(false);
  });

  it('describes each value for usage texts, marking the default', () => {
    const text = describeClientValues('kind', '  ');
    expect(text.split('\n')).to.have.length(2);
    expect(text).to.match(/^ {2}ltsp {3}the lab's LTSP-only kernel .*\(default\)$/m);
    expect(text).to.match(/^ {2}stock {2}Debian's stock kernel .*[^)]$/m);
  });

  it('clientSpecArgv: the options that ask for a spec, none for what the stack gives anyway; clientSpec of them gives it back', () => {
    const cases: [ClientSpecGiven, string[]][] = [
      [{}, []],
      [{ kind: 'stock' }, ['--client', 'stock']],
      [{ kind: 'stock', nbdClient: '3.21' }, ['--client', 'stock', '--nbd-client', '3.21']],
      [{ stack: 'ltsp23' }, ['--stack', 'ltsp23']],
      [{ union: 'overlayfs' }, ['--union', 'overlayfs']],
    ];
    for (const [given, argv] of cases) {
      const spec = clientSpec(given);
      expect(clientSpecArgv(spec), JSON.stringify(given)).to.deep.equal(argv);
      const back: Record<string, string> = {};
      for (let i = 0; i < argv.length; i += 2) {
        const d = (Object.keys(CLIENT_DIMENSIONS) as (keyof typeof CLIENT_DIMENSIONS)[]).find((k) => CLIENT_DIMENSIONS[k].option === argv[i])!;
        back[d] = argv[i + 1]!;
      }
      expect(sameClient(clientSpec(back), spec), `${argv.join(' ')} gives ${JSON.stringify(given)} back`).to.equal(true);
    }
  });
});
