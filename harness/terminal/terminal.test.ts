import { expect } from 'chai';
import { Deadline } from '../common/deadline';
import { ConsoleWaitError } from '../common/errors';
import { Terminal } from './terminal';

describe('Terminal: a program in a pty (node-pty), driven as a person would', function () {
  this.timeout(10_000);

  it('the program sees a TTY of the size given, and of a resize, and gets what is typed', async () => {
    // Prints its size, reads a line, prints its size again and the line.
    const script = 'stty size; read -r line; stty size; echo "got:$line"; read -r line';
    await using t = await new Terminal('/bin/bash', ['-c', script]).withSize(100, 30).start();
    await t.waitFor(/^30 100$/, Deadline.after(5000, 'first size'));
    t.resize(120, 40);
    t.type('hello\r');
    await t.waitFor(/^40 120$/, Deadline.after(5000, 'size after resize'));
    await t.waitFor(/^got:hello$/, Deadline.after(5000, 'the echo'));
    t.type('\r');
    expect((await t.waitForExit(Deadline.after(5000, 'exit'))).code).to.equal(0);
  });

  it('a wait that does not come ends at its deadline with the screen\'s tail; one the program exits under ends at once', async () => {
    await using t = await new Terminal('/bin/sh', ['-c', 'echo the-last-words; sleep 30']).start();
    await t.waitFor(/the-last-words/, Deadline.after(5000, 'words'));
    const e = await t.waitFor(/never/, Deadline.after(300, 'a pattern that never comes')).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(ConsoleWaitError);
    expect((e as Error).message).to.match(/timed out after 0\.3 s[\s\S]*the-last-words/);
    t.kill('SIGTERM');
    const gone = await t.waitFor(/never/, Deadline.after(5000, 'after exit')).catch((err: unknown) => err);
    expect((gone as ConsoleWaitError).reason).to.be.oneOf(['exited', 'closed']);
  });
});
