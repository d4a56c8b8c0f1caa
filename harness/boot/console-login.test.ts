import { expect } from 'chai';
import { Deadline } from '../common/deadline';
import { ConsoleLog } from '../qemu-ts-wrapper';
import { STACK_LOGIN, type LoginMethod } from '../client/login-methods';
import { logInAtConsole } from './console-login';
import { SerialShell, type ShellMachine } from './serial-shell';

/**
 * A console that answers like a client at root's shell: the SerialShell's markers, and a
 * login (`login USER` or `ssh USER@server`) that asks for a password and, given `good`,
 * starts the user's shell on HOST, else says what the stack says on a refusal.
 */
function scriptedClient(opts: { good: string; host: string; refusal: string[]; again?: string }): { machine: ShellMachine; typed: string[] } {
  const console = new ConsoleLog({ name: 'c1' });
  const typed: string[] = [];
  let state: 'root' | 'password' | 'again' | 'session' = 'root';
  let user = '';
  const prompt = (): string => (state === 'session' ? `${user}@${opts.host}:~$ ` : 'root@c1:~# ');
  const machine: ShellMachine = {
    console,
    exited: new Promise(() => undefined),
    type(text: string) {
      typed.push(text);
      setImmediate(() => {
        const n = /LTSPBEGIN(\d+)/.exec(text)?.[1];
        if (n) {
          console.push(`${text.replace(/\n$/, '')}\n=LTSPBEGIN${n}=\n${state === 'session' ? 'uid=1000(ann)\n' : ''}\n=LTSPEND${n}=0=\n${prompt()}`);
          return;
        }
        const login = /^(?:login (\w+)|ssh .*?(\w+)@server)\n$/.exec(text);
        if (state === 'root' && login) {
          user = login[1] ?? login[2] ?? '';
          state = 'password';
          console.push(`${text}${login[1] ? 'Password: ' : `${user}@server's password: `}`);
        } else if (state === 'password') {
          // The prompt's echo is off: the password never reaches the console.
          if (text === `${opts.good}\n`) {
            state = 'session';
            console.push(`\nLinux ${opts.host}\n${prompt()}`);
          } else {
            state = opts.again ? 'again' : 'root';
            console.push(`\n${opts.refusal.join('\n')}\n${opts.again ?? prompt()}`);
          }
        } else if (state === 'again' && text === '\x03') {
          state = 'root';
          console.push(`^C\n${prompt()}`);
        } else if (state === 'session' && text === 'exit\n') {
          state = 'root';
          console.push(`exit\nlogout\n${prompt()}`);
        }
      });
    },
  };
  console.push('root@c1:~# ');
  return { machine, typed };
}

const soon = (): Deadline => Deadline.after(2000, 'a login');
const method = (stack: 'k12' | 'ltsp23'): LoginMethod => STACK_LOGIN[stack]!;
const server = { ip: '10.0.0.2', hostKeys: ['ssh-rsa AAAA', 'ssh-ed25519 BBBB'] };

describe('logInAtConsole: a user of the server logs in at the client\'s console', () => {
  it('pamltsp: types login USER and the password, marks "session up" at the session\'s prompt, and runs commands there', async () => {
    const { machine, typed } = scriptedClient({ good: 'pw', host: 'ltsp158', refusal: [] });
    const root = new SerialShell('c1', machine, '/r/c1/console.log');
    const attempt = await logInAtConsole('c1', machine, root, '/r/c1/console.log', method('ltsp23'), { user: 'ann', password: 'pw' }, server, soon(), 2000);
    expect(attempt.ok).to.equal(true);
    if (!attempt.ok) return;
    expect(typed.slice(0, 2)).to.deep.equal(['login ann\n', 'pw\n']);
    expect(attempt.session.mark).to.include({ stage: 'session', label: 'session up', line: 'ann@ltsp158:~$ ' });
    expect(await attempt.session.check('id')).to.equal('uid=1000(ann)');
    await attempt.session.logout();
    // Back at root's shell, which takes the next command without waiting for another prompt.
    expect((await root.run('true', soon())).code).to.equal(0);
  });

  it('ssh-session: writes the server\'s ed25519 key and name first, then ssh USER@server; the session is on the server', async () => {
    const { machine, typed } = scriptedClient({ good: 'pw', host: 'server', refusal: [] });
    const root = new SerialShell('c1', machine, '/r/c1/console.log');
    const attempt = await logInAtConsole('c1', machine, root, '/r/c1/console.log', method('k12'), { user: 'ann', password: 'pw' }, server, soon(), 2000);
    expect(attempt.ok).to.equal(true);
    expect(typed[0]).to.include("printf '%s\\n' 'server ssh-ed25519 BBBB' >/etc/ssh/ssh_known_hosts").and.to.include("echo '10.0.0.2 server' >>/etc/hosts");
    expect(typed[1]).to.equal('ssh -o NumberOfPasswordPrompts=1 ann@server\n');
  });

  it("pamltsp refused: PAM's words and login(1)'s, then ^C at login(1)'s prompt, back at root's shell", async () => {
    const { machine, typed } = scriptedClient({ good: 'pw', host: 'ltsp158', refusal: ['.Authentication failure.', '', 'Login incorrect'], again: 'ltsp158 login: ' });
    const root = new SerialShell('c1', machine, '/r/c1/console.log');
    const attempt = await logInAtConsole('c1', machine, root, '/r/c1/console.log', method('ltsp23'), { user: 'ann', password: 'no' }, server, soon(), 2000);
    expect(attempt).to.deep.equal({ ok: false, refusal: '.Authentication failure.\n\nLogin incorrect' });
    expect(typed).to.include('\x03');
    expect((await root.run('true', soon())).code).to.equal(0);
  });

  it("ssh refused: ssh's Permission denied, and ssh has ended by itself", async () => {
    const { machine, typed } = scriptedClient({ good: 'pw', host: 'server', refusal: ['ann@server: Permission denied (publickey,password).'] });
    const root = new SerialShell('c1', machine, '/r/c1/console.log');
    const attempt = await logInAtConsole('c1', machine, root, '/r/c1/console.log', method('k12'), { user: 'ann', password: 'no' }, server, soon(), 2000);
    expect(attempt).to.deep.equal({ ok: false, refusal: 'ann@server: Permission denied (publickey,password).' });
    expect(typed).to.not.include('\x03');
    expect((await root.run('true', soon())).code).to.equal(0);
  });
});
