import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/errors';
import { LAB_USERS_FILE, labUsers, parseLabUsers, parseLogin } from './lab-users';

describe('lab-users: the lab\'s fixture users, one table for the server image and the harness', () => {
  it('reads the table the server image\'s build reads', () => {
    expect(LAB_USERS_FILE).to.equal(join(__dirname, '..', '..', 'vm-images', 'server', 'lab-users'));
    expect(readFileSync(join(__dirname, '..', '..', 'vm-images', 'server', 'Dockerfile'), 'utf8')).to.include('COPY lab-users ');
    expect(labUsers().map((u) => u.name)).to.include('student');
  });

  it('parses name, password and groups, skipping comments and blank lines', () => {
    expect(parseLabUsers('# who\n\nann  pw1  class,staff\nbob pw2\n', 'f')).to.deep.equal([
      { name: 'ann', password: 'pw1', groups: ['class', 'staff'] },
      { name: 'bob', password: 'pw2', groups: [] },
    ]);
  });

  it('refuses a row it cannot hand to useradd, and a name twice', () => {
    expect(() => parseLabUsers('Ann pw\n', 'f')).to.throw(/^f:1: give 'name password \[group,...\]'/);
    expect(() => parseLabUsers('ann\n', 'f')).to.throw(/^f:1: /);
    expect(() => parseLabUsers('ann pw g extra\n', 'f')).to.throw(/^f:1: /);
    expect(() => parseLabUsers('ann a\nann b\n', 'f')).to.throw('f:2: ann is in the table twice');
  });

  it('parseLogin: USER[:PASSWORD] against the table; an unknown user is a UsageError', () => {
    const users = parseLabUsers('ann pw1\n', 'f');
    expect(parseLogin('ann', users)).to.deep.equal({ user: 'ann', password: 'pw1' });
    expect(parseLogin('ann:x:y', users)).to.deep.equal({ user: 'ann', password: 'x:y' });
    expect(() => parseLogin('bob', users)).to.throw(UsageError, "--login bob: no such user on the lab's server");
    expect(() => parseLogin(':pw', users)).to.throw(UsageError, "--login '': no such user");
  });
});
