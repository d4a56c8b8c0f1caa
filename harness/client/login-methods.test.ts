import { expect } from 'chai';
import { UsageError } from '../common/errors';
import { CLIENT_DIMENSIONS } from './client-spec';
import { checkLoginStacks, loginMethodOf, STACK_LOGIN } from './login-methods';

describe('login methods: how each stack logs a user of the server in', () => {
  it('has a row for every stack: pamltsp on ltsp23, an SSH session on k12', () => {
    expect(Object.keys(STACK_LOGIN).sort()).to.deep.equal([...CLIENT_DIMENSIONS.stack.values].sort());
    expect(loginMethodOf('ltsp23')?.id).to.equal('pamltsp');
    expect(loginMethodOf('k12')?.id).to.equal('ssh-session');
  });

  it('--login on a stack whose row is empty is a UsageError naming it and the stacks that have one', () => {
    expect(() => checkLoginStacks(['k12', 'ltsp23'])).to.not.throw();
    const table = { ...STACK_LOGIN, ltsp23: null };
    const e = (() => {
      try {
        checkLoginStacks(['k12', 'ltsp23'], table);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).to.be.instanceOf(UsageError);
    expect((e as UsageError).message).to.equal('--login: the ltsp23 stack has no login yet');
    expect((e as UsageError).hint).to.equal('the stacks with one: k12 (ssh-session)');
    expect(() => checkLoginStacks(['k12'], table)).to.not.throw();
  });
});
