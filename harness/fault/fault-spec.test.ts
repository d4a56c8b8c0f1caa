import { expect } from 'chai';
import { UsageError } from '../common/errors';
import { budgetStretch, faultHoldMs, faultLasts, faultScope, parseFault, parseFaults, SLOW_LINK_BUDGET_STRETCH } from './fault-spec';

function refused(text: string | string[]): string {
  try {
    if (Array.isArray(text)) parseFaults(text);
    else parseFault(text);
  } catch (e) {
    expect(e).to.be.instanceOf(UsageError);
    return (e as UsageError).message;
  }
  return expect.fail(`'${String(text)}' was accepted`);
}

describe('fault specs (--fault KIND[:ARG][@WHEN])', () => {
  it('reads a kind, its argument and when it strikes', () => {
    expect(parseFault('nbd-restart@login')).to.deep.equal({ kind: 'nbd-restart', stage: 'login', afterS: 0, text: 'nbd-restart@login' });
    expect(parseFault('link-down:10@login+5')).to.include({ kind: 'link-down', value: 10, stage: 'login', afterS: 5 });
    expect(parseFault('nbd-stop:2.5@nbd')).to.include({ kind: 'nbd-stop', value: 2.5, stage: 'nbd', afterS: 0 });
    expect(parseFault('http-stop@dhcp')).to.include({ kind: 'http-stop', stage: 'dhcp' });
  });

  it('defaults: loss and delay hold for the whole boot, the rest strike at login', () => {
    expect(parseFault('loss:5')).to.include({ kind: 'loss', value: 5, stage: 'start' });
    expect(parseFault('delay:200')).to.include({ kind: 'delay', value: 200, stage: 'start' });
    expect(parseFault('server-kill')).to.include({ stage: 'login' });
    expect(parseFault('loss:5@login')).to.include({ stage: 'login' });
  });

  it('refuses an unknown kind, naming the kinds there are', () => {
    expect(refused('nbd-reboot@login')).to.match(/unknown fault kind 'nbd-reboot'/);
  });

  it('refuses a stage that does not exist, naming the stages', () => {
    expect(refused('nbd-restart@kernal')).to.match(/no boot stage 'kernal'/);
  });

  it('refuses a negative time, before or after the stage', () => {
    expect(refused('nbd-restart@login-5')).to.match(/negative time/);
    expect(refused('link-down:-3')).to.match(/cannot be negative/);
    expect(refused('nbd-restart@login+x')).to.match(/not a number of seconds/);
  });

  it('refuses a loss over 100 %, and arguments where there are none or none where one is needed', () => {
    expect(refused('loss:101')).to.match(/0 to 100%/);
    expect(refused('loss')).to.match(/needs PCT/);
    expect(refused('link-down@login')).to.match(/needs SECONDS/);
    expect(refused('nbd-restart:3@login')).to.match(/takes no argument/);
    expect(refused('delay:fast')).to.match(/not a number/);
  });

  it('refuses two netem faults at once, and a server kill with anything else', () => {
    expect(refused(['loss:5', 'delay:100'])).to.match(/one netem fault/);
    expect(refused(['server-kill@login', 'nbd-restart@login'])).to.match(/give it alone/);
    expect(parseFaults(['nbd-restart@login', 'link-down:5@login+20'])).to.have.length(2);
  });

  it('knows where each kind acts, how long it holds and whether it stays', () => {
    expect(faultScope('nbd-restart')).to.equal('server');
    expect(faultScope('link-down')).to.equal('client');
    expect(faultHoldMs(parseFault('nbd-stop:10'))).to.equal(10_000);
    expect(faultHoldMs(parseFault('nbd-restart'))).to.equal(0);
    expect(faultLasts(parseFault('http-stop'))).to.equal(true);
    expect(faultLasts(parseFault('link-down:3'))).to.equal(false);
  });

  it('stretches the budgets of a boot under loss or delay, and only then', () => {
    expect(budgetStretch(parseFaults(['delay:200']))).to.equal(SLOW_LINK_BUDGET_STRETCH);
    expect(budgetStretch(parseFaults(['loss:5@login', 'nbd-restart@login']))).to.equal(SLOW_LINK_BUDGET_STRETCH);
    expect(budgetStretch(parseFaults(['nbd-restart@login', 'link-down:5']))).to.equal(1);
    expect(budgetStretch([])).to.equal(1);
  });
});
