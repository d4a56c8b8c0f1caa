import { expect } from 'chai';
import { CLIENT_KINDS, clientSpec, labUsers, UsageError } from '../harness/index';
import { parseBaselineArgs, parseBenchArgs, parseBootArgs, parseCommandLine, parseOptions } from './args';

function usageError(argv: string[]): UsageError {
  try {
    parseBootArgs(argv);
  } catch (e) {
    expect(e, argv.join(' ')).to.be.instanceOf(UsageError);
    return e as UsageError;
  }
  return expect.fail(`expected a UsageError for ${argv.join(' ')}`);
}

describe('parseBootArgs', () => {
  it('defaults to one 384 MB union client on virtio-net, export root', () => {
    expect(parseBootArgs([])).to.deep.equal({
      clients: 1,
      memoryMb: 384,
      keep: false,
      json: false,
      exportName: 'root',
      nic: 'virtio-net-pci',
      macs: [],
      compare: false,
      faults: [],
      serverInit: 'entrypoint',
      nbdServer: '3.24',
      boots: [{ kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }],
    });
  });

  it('--client: what the clients boot, ltsp by default; one for all, or one per client in order', () => {
    expect(parseBootArgs(['--client', 'stock']).boots).to.deep.equal([{ kind: 'stock', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }]);
    expect(parseBootArgs(['--clients', '2', '--client=stock']).boots).to.deep.equal([{ kind: 'stock', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }, { kind: 'stock', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }]);
    expect(parseBootArgs(['--clients', '2', '--client', 'ltsp', '--client', 'stock']).boots).to.deep.equal([{ kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }, { kind: 'stock', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }]);
    expect(parseBootArgs(['--clients', '3']).boots).to.deep.equal([{ kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }, { kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }, { kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }]);
    // The choices are the one list of kinds.
    for (const kind of CLIENT_KINDS) expect(parseBootArgs(['--client', kind]).boots).to.deep.equal([{ kind, nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }]);
  });

  it('--stack: k12 by default, ltsp23 for every client; only the known stacks, and none of the k12 stack\'s own options with ltsp23', () => {
    expect(parseBootArgs([]).boots.map((b) => b.stack)).to.deep.equal(['k12']);
    // The ltsp23 stack's clients are stock whatever the kind's default; --export and --nbd-server at their defaults are not "given".
    expect(parseBootArgs(['--clients', '2', '--stack', 'ltsp23']).boots).to.deep.equal([{ kind: 'stock', nbdClient: '3.24', stack: 'ltsp23', union: 'overlayfs' }, { kind: 'stock', nbdClient: '3.24', stack: 'ltsp23', union: 'overlayfs' }]);
    expect(parseBootArgs(['--stack', 'ltsp23', '--client', 'stock', '--nbd-client', '3.24']).boots).to.deep.equal([clientSpec({ stack: 'ltsp23' })]);
    expect(parseBootArgs(['--stack=k12', '--client', 'ltsp']).boots).to.deep.equal([{ kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' }]);
    expect(usageError(['--stack', 'ltsp5']).message).to.match(/--stack.*ltsp5.*k12, ltsp23/);
    expect(usageError(['--stack']).message).to.match(/--stack/);
    // What the ltsp23 stack boots is its image's: the client spec refuses another kind or nbd-client.
    expect(usageError(['--stack', 'ltsp23', '--client', 'ltsp']).message).to.match(/--client ltsp is for the k12 stack/);
    expect(usageError(['--stack', 'ltsp23', '--nbd-client', '3.27']).message).to.match(/--nbd-client 3.27 is for the k12 stack/);
    for (const k12 of [['--union', 'overlayfs'], ['--union', 'unionfs-fuse'], ['--export', 'root'], ['--root-arg', 'root=nbd:{server}:{export}'], ['--root-path', 'nbd:{server}:{export}'], ['--nbd-server', '3.21']]) {
      expect(usageError(['--stack', 'ltsp23', ...k12]).message, k12[0]).to.include(`${k12[0]} is for the k12 stack`);
    }
  });

  it('--union: unionfs-fuse by default, overlayfs or none for every client; a bad value names the known ones, with what each is', () => {
    expect(parseBootArgs([]).boots.map((b) => b.union)).to.deep.equal(['unionfs-fuse']);
    expect(parseBootArgs(['--clients', '2', '--union', 'overlayfs', '--client', 'ltsp', '--client', 'stock']).boots).to.deep.equal([clientSpec({ union: 'overlayfs' }), clientSpec({ kind: 'stock', union: 'overlayfs' })]);
    expect(parseBootArgs(['--union=none']).boots).to.deep.equal([clientSpec({ union: 'none' })]);
    const bad = usageError(['--union', 'bogus']);
    expect(bad.message).to.equal("--union 'bogus' is not one of unionfs-fuse, overlayfs, none");
    expect(bad.hint).to.match(/^unionfs-fuse: the seed's.*; overlayfs: the kernel's overlay.*; none: no union/);
    expect(usageError(['--union', 'overlayfs', '--union', 'none']).message).to.equal('--union is given twice');
    expect(usageError(['--no-union']).message).to.match(/unknown option '--no-union'/);
  });

  it('--nbd-server, --nbd-client: the stock 3.24 by default; a bad value names the known ones; oldstyle boots by port', () => {
    expect(() => parseBootArgs(['--nbd-server', '3.9'])).to.throw(UsageError, "--nbd-server '3.9' is not one of 3.21, 3.24, 3.26, 3.27, oldstyle");
    expect(() => parseBootArgs(['--nbd-client', 'oldstyle'])).to.throw(UsageError, "--nbd-client 'oldstyle' is not one of 3.21, 3.24, 3.26, 3.27");
    expect(parseBootArgs(['--nbd-client', '3.27', '--client', 'ltsp']).boots).to.deep.equal([{ kind: 'ltsp', nbdClient: '3.27', stack: 'k12', union: 'unionfs-fuse' }]);
    const old = parseBootArgs(['--nbd-server', 'oldstyle']);
    expect(old.rootArg).to.equal('root=nbd:{server}:2000:ext4:ro');
    expect(parseBootArgs(['--nbd-server', 'oldstyle', '--root-arg', 'root=nbd:{server}:2000']).rootArg).to.equal('root=nbd:{server}:2000');
    expect(parseBootArgs(['--nbd-server', '3.21']).rootArg).to.equal(undefined);
  });

  it('--server-init: entrypoint, systemd or sysvinit, as either spelling', () => {
    expect(parseBootArgs(['--server-init', 'systemd']).serverInit).to.equal('systemd');
    expect(parseBootArgs(['--server-init=sysvinit']).serverInit).to.equal('sysvinit');
    expect(parseBootArgs(['--server-init', 'entrypoint']).serverInit).to.equal('entrypoint');
    // Faults act through the init (harness/fault), so they go with any of them.
    expect(parseBootArgs(['--server-init', 'systemd', '--fault', 'nbd-restart@login']).faults).to.have.length(1);
  });

  it('takes every option, as "--name value" and as "--name=value"', () => {
    expect(
      parseBootArgs([
        '--clients', '3',
        '--memory=512',
        '--append', 'rd.debug loglevel=7',
        '--keep',
        '--json',
        '--union', 'none',
        '--export', 'bookworm',
        '--nic=e1000',
        '--mac', '52:54:00:AA:BB:01',
        '--mac=52:54:00:aa:bb:02',
        '--report', '/tmp/reports',
        '--fault', 'link-down:5@login+2',
        '--fault=loss:3',
        '--server-init', 'sysvinit',
        '--client', 'stock',
        '--nbd-server=3.26',
        '--nbd-client', '3.21',
      ]),
    ).to.deep.equal({
      clients: 3,
      memoryMb: 512,
      append: 'rd.debug loglevel=7',
      keep: true,
      json: true,
      exportName: 'bookworm',
      nic: 'e1000',
      macs: ['52:54:00:aa:bb:01', '52:54:00:aa:bb:02'],
      reportDir: '/tmp/reports',
      compare: false,
      faults: [
        { kind: 'link-down', value: 5, stage: 'login', afterS: 2, text: 'link-down:5@login+2' },
        { kind: 'loss', value: 3, stage: 'start', afterS: 0, text: 'loss:3' },
      ],
      serverInit: 'sysvinit',
      boots: [{ kind: 'stock', nbdClient: '3.21', stack: 'k12', union: 'none' }, { kind: 'stock', nbdClient: '3.21', stack: 'k12', union: 'none' }, { kind: 'stock', nbdClient: '3.21', stack: 'k12', union: 'none' }],
      nbdServer: '3.26',
    });
  });

  it('--fault: a bad fault is a usage error before anything starts, and faults do not go with --compare', () => {
    expect(() => parseBootArgs(['--fault', 'nbd-reboot'])).to.throw(UsageError, /unknown fault kind/);
    expect(() => parseBootArgs(['--fault', 'nbd-restart@login', '--compare'])).to.throw(UsageError, /--compare and --fault do not go together/);
  });

  it('--compare, with --retries for the gate', () => {
    expect(parseBootArgs(['--compare'])).to.include({ compare: true }).and.not.have.property('retries');
    expect(parseBootArgs(['--compare', '--retries', '0'])).to.include({ compare: true, retries: 0 });
    expect(parseBootArgs(['--compare', '--append', 'ltsp.test.delay=nbd:20'])).to.include({ append: 'ltsp.test.delay=nbd:20' });
  });

  it('keeps a value that contains "=" whole', () => {
    expect(parseBootArgs(['--append=rd.break=pre-pivot']).append).to.equal('rd.break=pre-pivot');
  });

  it('accepts the bounds of --clients and --memory', () => {
    expect(parseBootArgs(['--clients', '8']).clients).to.equal(8);
    expect(parseBootArgs(['--memory', '128']).memoryMb).to.equal(128);
    expect(parseBootArgs(['--memory', '8192']).memoryMb).to.equal(8192);
  });

  const errors: [string, string[], string | RegExp][] = [
    ['an unknown option', ['--bogus'], /^unknown option '--bogus'$/],
    ['an unknown option with a value', ['--bogus=1'], /^unknown option '--bogus'$/],
    ['an option named like an Object property', ['--constructor', 'x'], /^unknown option '--constructor'$/],
    ['an option named __proto__', ['--__proto__=x'], /^unknown option '--__proto__'$/],
    ['a missing value at the end', ['--clients'], '--clients needs a value'],
    ['an option where the value should be', ['--memory', '--keep'], '--memory needs a value'],
    ['--clients 0', ['--clients', '0'], '--clients 0 is out of range: give 1 to 8'],
    ['--clients 99', ['--clients', '99'], '--clients 99 is out of range: give 1 to 8'],
    ['--clients -1', ['--clients=-1'], "--clients '-1' is not a whole number"],
    ['--memory 12', ['--memory', '12'], '--memory 12 MB is out of range: give 128 to 8192 MB'],
    ['--memory abc', ['--memory', 'abc'], "--memory 'abc' is not a whole number"],
    ['--memory 1.5', ['--memory', '1.5'], "--memory '1.5' is not a whole number"],
    ['an empty --memory', ['--memory='], "--memory '' is not a whole number"],
    ['a malformed MAC', ['--mac', '52:54:00:12:34'], "--mac '52:54:00:12:34' is not a MAC address like 52:54:00:12:34:56"],
    ['a MAC with dashes', ['--mac', '52-54-00-12-34-56'], "--mac '52-54-00-12-34-56' is not a MAC address"],
    ['a multicast MAC', ['--mac', '01:00:5E:00:00:01'], '--mac 01:00:5e:00:00:01 is a multicast address; a NIC needs a unicast one'],
    ['the broadcast MAC', ['--mac', 'ff:ff:ff:ff:ff:ff'], 'is a multicast address'],
    ['the same MAC twice', ['--clients', '2', '--mac', '52:54:00:00:00:01', '--mac', '52:54:00:00:00:01'], '--mac 52:54:00:00:00:01 is given twice'],
    ['the same MAC twice in different case', ['--clients', '2', '--mac', '52:54:00:00:00:AB', '--mac', '52:54:00:00:00:ab'], '--mac 52:54:00:00:00:ab is given twice'],
    ['more MACs than clients', ['--mac', '52:54:00:00:00:01', '--mac', '52:54:00:00:00:02'], '2 --mac given for 1 client(s)'],
    ['--nic bogus', ['--nic', 'bogus'], "--nic 'bogus' is not one of virtio-net-pci, e1000, rtl8139"],
    ['a flag given a value', ['--keep=yes'], '--keep takes no value'],
    ['a value given twice', ['--clients', '1', '--clients', '2'], '--clients is given twice'],
    ['a value given twice, once with =', ['--export=a', '--export', 'b'], '--export is given twice'],
    ['a positional argument', ['c1'], "unexpected argument 'c1'"],
    ['a positional argument after options', ['--keep', 'extra'], "unexpected argument 'extra'"],
    ['a single-dash option', ['-k'], "unknown option '-k'"],
    ['a misspelt option, with the likely one', ['--client', '2'], "--client '2' is not one of ltsp, stock"],
    ['a misspelt option, with the likely one', ['--clent', '2'], "unknown option '--clent' (Did you mean --client?)"],
    ['a client kind in the wrong case', ['--client', 'LTSP'], "--client 'LTSP' is not one of ltsp, stock"],
    ['an empty --client', ['--client='], "--client '' is not one of ltsp, stock"],
    ['two --client for three clients', ['--clients', '3', '--client', 'ltsp', '--client', 'stock'], '2 --client given for 3 client(s)'],
    ['--compare of two kinds at once', ['--compare', '--clients', '2', '--client', 'ltsp', '--client', 'stock'], '--compare judges one client kind against its own baseline'],
    ['--retries without --compare', ['--retries', '1'], '--retries is for --compare'],
    ['--retries 9', ['--compare', '--retries', '9'], '--retries 9 is out of range: give 0 to 5'],
    ['--compare with --keep', ['--compare', '--keep'], '--compare and --keep do not go together'],
    ['a root argument from DHCP without a root-path', ['--root-arg', 'root=dhcp'], "--root-arg 'root=dhcp' takes the root from DHCP: give the root-path too"],
    ['a root-path with a root argument not from DHCP', ['--root-arg', 'root=nbd:{server}:root', '--root-path', 'nbd:{server}:root'], '--root-path is read by dracut only for a root from DHCP'],
    ['--compare with --root-arg', ['--compare', '--root-arg', 'root=nbd:{server}:root'], "--compare and --root-arg do not go together: the baseline is of the lab's own root argument"],
    ['--compare with --root-path', ['--compare', '--root-path', 'nbd:{server}:{export}:ext4:ro'], '--compare and --root-path do not go together'],
    ['--compare with the oldstyle server (its own root argument)', ['--compare', '--nbd-server', 'oldstyle'], '--compare and --nbd-server oldstyle do not go together'],
    ['an init that is not offered', ['--server-init', 'openrc'], "--server-init 'openrc' is not one of entrypoint, systemd, sysvinit"],
    ['an init in the wrong case', ['--server-init', 'systemD'], "--server-init 'systemD' is not one of entrypoint, systemd, sysvinit"],
    ['an empty --server-init', ['--server-init='], "--server-init '' is not one of"],
    ['--server-init without a value', ['--server-init'], '--server-init needs a value'],
    ['--server-init given twice', ['--server-init', 'systemd', '--server-init', 'sysvinit'], '--server-init is given twice'],
    ['--compare with another init', ['--compare', '--server-init', 'systemd'], '--compare and --server-init systemd do not go together'],
    ['a test delay at a stage that does not exist', ['--append', 'ltsp.test.delay=nfs:20'], "ltsp.test.delay: 'nfs' is not a boot stage"],
  ];
  for (const [what, argv, message] of errors) {
    it(`refuses ${what}`, () => {
      const err = usageError(argv);
      if (typeof message === 'string') expect(err.message).to.include(message);
      else expect(err.message).to.match(message);
      expect(err.exitCode).to.equal(2);
    });
  }

  it('lists the known options when one is unknown', () => {
    expect(usageError(['--clent', '2']).hint).to.include('--clients').and.to.include('--union').and.to.include('--client');
  });
});

describe('parseBootArgs: --login', () => {
  const student = labUsers().find((u) => u.name === 'student')!;

  it("takes a user of the lab's table, with the table's password unless one is given, on either stack", () => {
    expect(parseBootArgs(['--login', 'student']).login).to.deep.equal({ user: 'student', password: student.password });
    expect(parseBootArgs(['--stack', 'ltsp23', '--login', 'student:typo']).login).to.deep.equal({ user: 'student', password: 'typo' });
    expect(parseBootArgs([]).login).to.equal(undefined);
  });

  it('refuses a user the server does not have (exit 2), naming the ones it has', () => {
    const e = usageError(['--login', 'mallory']);
    expect(e.message).to.equal("--login mallory: no such user on the lab's server");
    expect(e.hint).to.include('student');
    expect(e.exitCode).to.equal(2);
    expect(usageError(['--login', 'student:']).message).to.match(/give a password after the colon/);
  });

  it('is not for the gate, whose baselines are boots to the login prompt', () => {
    expect(usageError(['--login', 'student', '--compare']).message).to.match(/--login and --compare do not go together/);
  });
});

describe('parseBootArgs: --root-arg and --root-path', () => {
  it('a root-path alone takes the root from DHCP (root=/dev/root netroot=dhcp)', () => {
    const o = parseBootArgs(['--root-path', 'nbd:{server}:{export}:ext4']);
    expect([o.rootArg, o.rootPath]).to.deep.equal(['root=/dev/root netroot=dhcp', 'nbd:{server}:{export}:ext4']);
  });

  it('keeps a root argument as given, placeholders and all', () => {
    expect(parseBootArgs(['--root-arg', ' root=nbd:{server}:{export}::errors=panic ']).rootArg).to.equal('root=nbd:{server}:{export}::errors=panic');
    expect(parseBootArgs(['--root-arg=root=dhcp', '--root-path=nbd:{server}:root']).rootArg).to.equal('root=dhcp');
  });
});

describe('parseCommandLine (commander underneath)', () => {
  it('returns declared positionals and refuses more', () => {
    expect(parseCommandLine(['g1', '--stage', 'nbd', 'b2'], { stage: 'value' }, ['<good>', '<bad>'])).to.deep.equal({ options: new Map([['stage', 'nbd']]), given: new Set(['stage']), args: ['g1', 'b2'] });
    expect(parseCommandLine([], {}, ['[run]']).args).to.deep.equal([]);
    expect(() => parseCommandLine(['a', 'b'], {}, ['[run]'])).to.throw(UsageError, "unexpected argument 'b'");
  });

  it('a missing required positional is a UsageError', () => {
    expect(() => parseCommandLine(['g1'], {}, ['<good>', '<bad>'])).to.throw(UsageError, "missing required argument 'bad'");
  });

  it('reads a --no-X flag by its own name', () => {
    expect(parseOptions(['--no-union'], { 'no-union': 'flag' }).get('no-union')).to.equal(true);
    expect(parseOptions([], { 'no-union': 'flag' }).has('no-union')).to.equal(false);
  });

  it('takes a value that begins with one dash, and refuses one that begins with two', () => {
    expect(parseOptions(['--append', '-x'], { append: 'value' }).get('append')).to.equal('-x');
    expect(() => parseOptions(['--append', '--keep'], { append: 'value', keep: 'flag' })).to.throw(UsageError, '--append needs a value');
    expect(parseOptions(['--append=--keep'], { append: 'value', keep: 'flag' }).get('append')).to.equal('--keep');
  });
});

describe('parseBenchArgs', () => {
  const refused = (argv: string[]): UsageError => {
    try {
      parseBenchArgs(argv);
    } catch (e) {
      if (e instanceof UsageError) return e;
      throw e;
    }
    throw new Error(`parseBenchArgs(${JSON.stringify(argv)}) did not throw`);
  };

  it('defaults: every case but images-warm and gate-beside (parts of images and gate), a table', () => {
    expect(parseBenchArgs([])).to.deep.equal({ cases: ['chain', 'client', 'overhead', 'concurrency', 'images', 'memory', 'gate', 'storm', 'union'], json: false });
  });

  it('takes --runs, repeated --case and --json', () => {
    expect(parseBenchArgs(['--case', 'chain', '--case=images-warm', '--runs', '2', '--json'])).to.deep.equal({ runs: 2, cases: ['chain', 'images-warm'], json: true });
  });

  const errors: [string, string[], string][] = [
    ['an unknown case', ['--case', 'boot'], "--case 'boot' is not a bench case"],
    ['a case given twice', ['--case', 'chain', '--case', 'chain'], '--case chain is given twice'],
    ['--runs 0', ['--runs', '0'], '--runs 0 is out of range: give 1 to 20'],
    ['--runs lots', ['--runs', 'lots'], "--runs 'lots' is not a whole number"],
    ['an option of ./lab boot', ['--clients', '2'], "unknown option '--clients'"],
  ];
  for (const [what, argv, message] of errors) {
    it(`refuses ${what}`, () => {
      const err = refused(argv);
      expect(err.message).to.include(message);
      expect(err.exitCode).to.equal(2);
    });
  }

  it('names the cases when one is unknown', () => {
    expect(refused(['--case', 'x']).hint).to.equal('one of: chain, client, overhead, concurrency, images, memory, gate, gate-beside, images-warm, storm, union');
  });
});

describe('parseBaselineArgs', () => {
  it('prints by default; --update records 6 boots unless --runs says otherwise', () => {
    expect(parseBaselineArgs([])).to.deep.equal({ update: false, runs: 6, client: { kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' } });
    expect(parseBaselineArgs(['--update'])).to.deep.equal({ update: true, runs: 6, client: { kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' } });
    expect(parseBaselineArgs(['--update', '--runs', '10'])).to.deep.equal({ update: true, runs: 10, client: { kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' } });
  });

  it('--update --client KIND records that kind\'s baseline; --client without --update or of an unknown kind is refused', () => {
    expect(parseBaselineArgs(['--update', '--client', 'stock']).client).to.deep.equal({ kind: 'stock', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' });
    expect(() => parseBaselineArgs(['--client', 'stock'])).to.throw(UsageError, '--client is for --update');
    expect(() => parseBaselineArgs(['--update', '--client', 'nfs'])).to.throw(UsageError, "--client 'nfs' is not one of ltsp, stock");
  });

  it('--update --stack ltsp23 records the ltsp23 lane\'s baseline: every dimension of the client is an option, checked as ./lab boot checks it', () => {
    expect(parseBaselineArgs(['--update', '--stack', 'ltsp23']).client).to.deep.equal({ kind: 'stock', nbdClient: '3.24', stack: 'ltsp23', union: 'overlayfs' });
    expect(parseBaselineArgs(['--update', '--nbd-client', '3.21', '--client', 'stock']).client).to.deep.equal({ kind: 'stock', nbdClient: '3.21', stack: 'k12', union: 'unionfs-fuse' });
    expect(parseBaselineArgs(['--update', '--union', 'overlayfs']).client).to.deep.equal({ kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'overlayfs' });
    expect(() => parseBaselineArgs(['--update', '--stack', 'ltsp23', '--union', 'none'])).to.throw(UsageError, /--union none is for the k12 stack/);
    expect(() => parseBaselineArgs(['--stack', 'ltsp23'])).to.throw(UsageError, '--stack is for --update');
    expect(() => parseBaselineArgs(['--update', '--stack', 'ltsp5'])).to.throw(UsageError, "--stack 'ltsp5' is not one of k12, ltsp23");
    expect(() => parseBaselineArgs(['--update', '--stack', 'ltsp23', '--client', 'ltsp'])).to.throw(UsageError, '--client ltsp is for the k12 stack');
  });

  it('refuses --runs without --update, and out of 2 to 20', () => {
    expect(() => parseBaselineArgs(['--runs', '4'])).to.throw(UsageError, '--runs is for --update');
    // Given, even at its default value: still not without --update.
    expect(() => parseBaselineArgs(['--runs', '6'])).to.throw(UsageError, '--runs is for --update');
    expect(() => parseBaselineArgs(['--update', '--runs', '1'])).to.throw(UsageError, '--runs 1 is out of range: give 2 to 20');
    expect(() => parseBaselineArgs(['--force'])).to.throw(UsageError, "unknown option '--force'");
  });
});
