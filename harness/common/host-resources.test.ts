import { expect } from 'chai';
import { UsageError } from './errors';
import { QEMU_OVERHEAD_MB, checkClientsFit, clientsThatFit, contentionFactor, memAvailableMb } from './host-resources';

/** /proc/meminfo of a small CI runner (proc(5)); MemFree and MemTotal must not be mistaken for MemAvailable. */
const MEMINFO = [
  'MemTotal:        8141568 kB',
  'MemFree:          524288 kB',
  'MemAvailable:    2048000 kB',
  'Buffers:          102400 kB',
  'Cached:          1572864 kB',
  'SwapTotal:             0 kB',
  'HugePages_Total:       0',
  '',
].join('\n');

describe('host resources', () => {
  describe('memAvailableMb', () => {
    it('reads MemAvailable, in whole MiB', () => {
      expect(memAvailableMb(MEMINFO)).to.equal(2000);
      expect(memAvailableMb('MemAvailable:       1535 kB\n')).to.equal(1);
    });

    it('says so when MemAvailable is missing (kernels before 3.14)', () => {
      expect(() => memAvailableMb('MemTotal: 8141568 kB\nMemFree: 524288 kB\n')).to.throw(/no MemAvailable/);
    });

    it('reads this host', () => {
      expect(memAvailableMb()).to.be.a('number').and.to.be.at.least(0);
    });
  });

  describe('clientsThatFit', () => {
    // Each client costs guest RAM + QEMU_OVERHEAD_MB; the lab itself takes 300 MiB.
    const per = 384 + QEMU_OVERHEAD_MB;

    it('counts whole clients after the lab', () => {
      expect(clientsThatFit(384, 300 + 2 * per)).to.equal(2);
      expect(clientsThatFit(384, 300 + 2 * per - 1)).to.equal(1);
      expect(clientsThatFit(384, 300 + per)).to.equal(1);
      expect(clientsThatFit(128, 300 + 8 * (128 + QEMU_OVERHEAD_MB))).to.equal(8);
    });

    it('is never negative', () => {
      expect(clientsThatFit(384, 0)).to.equal(0);
      expect(clientsThatFit(384, 299)).to.equal(0);
    });
  });

  describe('checkClientsFit', () => {
    it('lets clients that fit through', () => {
      expect(() => checkClientsFit(2, 384, 300 + 2 * (384 + QEMU_OVERHEAD_MB))).to.not.throw();
    });

    it('refuses, saying how many fit and what they would need', () => {
      let err: unknown;
      try {
        checkClientsFit(3, 384, 2000);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(UsageError);
      const { message, hint } = err as UsageError;
      expect(message).to.include('3 client(s) of 384 MB need about 2652 MiB');
      expect(message).to.include('2000 MiB is available: at most 2 fit');
      expect(hint).to.equal('use --clients 2 or a smaller --memory');
    });

    it('says none fit when even one does not', () => {
      expect(() => checkClientsFit(1, 1024, 1000)).to.throw(UsageError, /at most 0 fit/);
    });
  });
});

describe('contentionFactor', () => {
  it('is 1 while each client has a core of its own', () => {
    expect(contentionFactor(0, 2)).to.equal(1);
    expect(contentionFactor(1, 2)).to.equal(1);
    expect(contentionFactor(2, 2)).to.equal(1);
    expect(contentionFactor(8, 8)).to.equal(1);
  });

  it('grows with the square of the overcommit beyond that', () => {
    expect(contentionFactor(3, 2)).to.equal(2.25);
    expect(contentionFactor(4, 2)).to.equal(4);
    expect(contentionFactor(8, 2)).to.equal(16);
    expect(contentionFactor(2, 1)).to.equal(4);
  });

  it('takes a host that reports no cores as one core', () => {
    expect(contentionFactor(2, 0)).to.equal(4);
  });
});
