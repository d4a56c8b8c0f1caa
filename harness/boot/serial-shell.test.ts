import { expect } from 'chai';
import { Deadline } from '../common/deadline';
import { ConsoleWaitError, SutError } from '../common/errors';
import { ConsoleLog } from '../qemu-ts-wrapper';
import { SerialShell, type ShellMachine } from './serial-shell';

/**
 * A machine whose console answers what is typed like a root shell would: the echo, the
 * begin marker, `output`, the end marker with `code`, the next prompt.
 */
function scriptedMachine(answer: (command: string) => { output: string[]; code: number } | 'panic'): { machine: ShellMachine; typed: string[] } {
  const console = new ConsoleLog({ name: 'c1' });
  const typed: string[] = [];
  const machine: ShellMachine = {
    console,
    exited: new Promise(() => undefined),
    type(text: string) {
      typed.push(text);
      const n = /LTSPBEGIN(\d+)/.exec(text)?.[1];
      const command = /export COLUMNS=512; (.*); printf/.exec(text)?.[1] ?? '';
      setImmediate(() => {
        console.push(`${text.replace(/\n$/, '')}\n`);
        const a = answer(command);
        if (a === 'panic') {
          console.push('Kernel panic - not syncing: Attempted to kill init!\n');
          return;
        }
        console.push(`=LTSPBEGIN${n}=\n${a.output.map((l) => `${l}\n`).join('')}\n=LTSPEND${n}=${a.code}=\nroot@c1:~# `);
      });
    },
  };
  console.push('Debian GNU/Linux 12 c1 ttyS0\nroot@c1:~# ');
  return { machine, typed };
}

const soon = (): Deadline => Deadline.after(2000, 'a shell command');

describe('SerialShell', () => {
  it('runs a command at the prompt and returns its output between the markers and its exit code', async () => {
    const { machine, typed } = scriptedMachine(() => ({ output: ['/dev/nbd0 on / type ext4 (ro)'], code: 0 }));
    const shell = new SerialShell('c1', machine, '/r/c1/console.log');
    expect(await shell.run('mount | grep nbd0', soon())).to.deep.equal({ code: 0, output: '/dev/nbd0 on / type ext4 (ro)' });
    expect(typed[0]).to.match(/^printf '=%s=\\n' LTSPBEGIN1; stty cols 512/);
  });

  it('numbers its markers, so the second command does not take the first one\'s end', async () => {
    const { machine } = scriptedMachine((c) => ({ output: [c === 'true' ? '' : 'two'], code: c === 'true' ? 0 : 3 }));
    const shell = new SerialShell('c1', machine, '/r/c1/console.log');
    expect((await shell.run('true', soon())).code).to.equal(0);
    expect(await shell.run('false-ish', soon())).to.deep.equal({ code: 3, output: 'two' });
  });

  it('check() makes a non-zero exit a SutError carrying the output', async () => {
    const { machine } = scriptedMachine(() => ({ output: ['no such file'], code: 2 }));
    const e = await new SerialShell('c1', machine, '/r/c1/console.log').check('cat /x', soon()).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(SutError);
    expect((e as SutError).message).to.equal("'cat /x' on c1 exited 2:\nno such file");
  });

  it('a panic under the command is the stack failing: a SutError naming the console log', async () => {
    const { machine } = scriptedMachine(() => 'panic');
    const e = await new SerialShell('c1', machine, '/r/c1/console.log').run('echo c > /proc/sysrq-trigger', soon()).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(SutError);
    expect((e as SutError).hint).to.equal('console log: /r/c1/console.log');
    expect((e as SutError).cause).to.be.instanceOf(ConsoleWaitError);
  });

  it('refuses more than one command line', async () => {
    const { machine } = scriptedMachine(() => ({ output: [], code: 0 }));
    const e = await new SerialShell('c1', machine, '/r/c1/console.log').run('a\nb', soon()).catch((err: unknown) => err);
    expect((e as Error).message).to.equal('one command line at a time');
  });
});
