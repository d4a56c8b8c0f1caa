import { expect } from 'chai';
import { Deadline } from './deadline';
import { DeadlineError, QemuWrapperError } from './errors';

describe('Deadline', function () {
  this.timeout(2000);

  it('counts down from its total and expires', async () => {
    const d = Deadline.after(60, 'short step');
    expect(d.what).to.equal('short step');
    expect(d.totalMs).to.equal(60);
    expect(d.expired()).to.equal(false);
    expect(d.remaining()).to.be.within(40, 60);
    await new Promise((r) => setTimeout(r, 80));
    expect(d.expired()).to.equal(true);
    expect(d.remaining()).to.equal(0);
    expect(d.elapsed()).to.be.at.least(60);
  });

  it('gives a child the smaller of its own budget and what is left of the parent', () => {
    const parent = Deadline.after(1000, 'boot c1');
    const small = parent.child(100, 'dhcp');
    expect(small.totalMs).to.equal(100);
    expect(small.cappedBy).to.equal(undefined);
    const big = parent.child(Infinity, 'login');
    expect(big.totalMs).to.be.within(900, 1000);
    expect(big.cappedBy).to.equal('boot c1');
    expect(big.error().message).to.contain("cut short by 'boot c1'");
  });

  it('allows an unlimited deadline', async () => {
    const d = Deadline.after(Infinity, 'forever');
    expect(d.remaining()).to.equal(Infinity);
    expect(d.expired()).to.equal(false);
    expect(await d.race(Promise.resolve(7))).to.equal(7);
  });

  it('rejects a negative or NaN duration', () => {
    expect(() => Deadline.after(-1, 'x')).to.throw(RangeError);
    expect(() => Deadline.after(NaN, 'x')).to.throw(RangeError);
  });

  it('sleeps no longer than the time left', async () => {
    const d = Deadline.after(50, 'nap');
    const t0 = performance.now();
    await d.sleep(5000);
    const slept = performance.now() - t0;
    expect(slept).to.be.within(40, 500);
  });

  it('race resolves with the promise when it settles in time', async () => {
    const d = Deadline.after(500, 'fast');
    const v = await d.race(new Promise<string>((r) => setTimeout(() => r('done'), 10)));
    expect(v).to.equal('done');
  });

  it('race passes the promise rejection through', async () => {
    const d = Deadline.after(500, 'fails');
    const err = await d.race(Promise.reject(new Error('boom'))).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error).with.property('message', 'boom');
  });

  it('race rejects with a DeadlineError naming the step and the limit', async () => {
    const d = Deadline.after(30, 'client c1 boot to login');
    const err = await d.race(new Promise(() => undefined)).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DeadlineError).and.instanceOf(QemuWrapperError);
    const de = err as DeadlineError;
    expect(de.what).to.equal('client c1 boot to login');
    expect(de.timeoutMs).to.equal(30);
    expect(de.message).to.contain('client c1 boot to login').and.contain('30 ms');
  });

  it('race uses the onTimeout error when given', async () => {
    const d = Deadline.after(10, 'custom');
    const err = await d.race(new Promise(() => undefined), () => new TypeError('mine')).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(TypeError).with.property('message', 'mine');
  });

  it('lets an already-settled promise win over an already-expired deadline', async () => {
    const d = Deadline.after(0, 'zero');
    expect(await d.race(Promise.resolve('ok'))).to.equal('ok');
    const err = await d.race(new Promise(() => undefined)).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DeadlineError);
  });

  it('check throws only once expired', async () => {
    const d = Deadline.after(20, 'checked');
    expect(() => d.check()).not.to.throw();
    await d.sleep(100);
    expect(() => d.check()).to.throw(DeadlineError, 'checked');
  });
});
