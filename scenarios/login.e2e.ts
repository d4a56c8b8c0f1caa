import { expect } from 'chai';
import { budgetMs, clientSpec, Deadline, labUsers, STACK_LOGIN, type ClientSession, type LoginCredentials, type StartedLab, type StartedThinClient } from '../harness/index';
import { stageIds, startClient, startSuiteLab } from './support/suite-lab';

/*
 * Issue 23, part 2: a user logs in. The user exists only on the server
 * (vm-images/server/lab-users); each client logs it in at its console from root's shell,
 * its stack's way (docs/login.md): on the ltsp23 stack login(1) through LTSP's pamltsp
 * (the password checked by ssh to the server, the home mounted over SSHFS, the session on
 * the client); on the k12 stack an SSH session to the server (ldm's job: the session runs
 * there). One lab, a client of each stack booted at once (two guests).
 */
describe('the login: a user of the server logs in at a client of each stack @full', function () {
  let lab: StartedLab | undefined;
  const clients = new Map<string, StartedThinClient>();
  const user = labUsers()[0]!;
  const creds: LoginCredentials = { user: user.name, password: user.password };
  const ltsp23 = clientSpec({ stack: 'ltsp23' });

  /** The server's answer to a shell command, trimmed. */
  const onServer = async (command: string): Promise<string> =>
    (await lab!.server.sh(command, false, Deadline.after(budgetMs('faultStep'), `server: ${command}`))).output.trim();

  /** Polls `probe` until it gives '' (nothing left), within the logout's budget; returns what was left last. */
  async function leftAfterLogout(probe: () => Promise<string>): Promise<string> {
    const d = Deadline.after(budgetMs('logoutCleanup'), 'what the logout leaves');
    let left = await probe();
    while (left !== '' && d.remaining() > 1000) {
      await d.sleep(1000);
      left = await probe();
    }
    return left;
  }

  before(async function () {
    // The lab's default client is of the ltsp23 stack, so its build makes both stacks' files.
    lab = await startSuiteLab(this.test!.parent!, (l) => l.withClient(ltsp23));
    const [k12c, ltc] = await Promise.all([
      startClient(lab, 'login-k12', (c) => c.boots(clientSpec({ stack: 'k12' }))),
      startClient(lab, 'login-ltsp23', (c) => c.boots(ltsp23)),
    ]);
    clients.set('k12', k12c).set('ltsp23', ltc);
    await Promise.all([k12c.waitForBoot(), ltc.waitForBoot()]);
  });

  after(async function () {
    await lab?.stop();
  });

  for (const stack of ['k12', 'ltsp23'] as const) {
    describe(`on the ${stack} stack (${STACK_LOGIN[stack]!.id})`, function () {
      let session: ClientSession;
      const c = (): StartedThinClient => clients.get(stack)!;
      const uid = async (): Promise<string> => onServer(`id -u ${user.name}`);
      /** The client's sshfs mounts, its processes of the user and its ssh/sshfs processes: '' when none. */
      const clientLeft = async (): Promise<string> =>
        (await c().run(`grep ' fuse.sshfs ' /proc/mounts; pgrep -a -u ${await uid()}; pgrep -a -x 'ssh|sshfs'; true`)).output.trim();
      const serverLeft = async (): Promise<string> => onServer(`pgrep -a -u ${user.name}; true`);

      it('a wrong password is refused with PAM\'s own words, and nothing is mounted or left running', async function () {
        const attempt = await c().attemptLogIn({ user: user.name, password: `not-${user.password}` }, await lab!.loginServer());
        expect(attempt.ok, 'the login went through').to.equal(false);
        if (attempt.ok) return;
        if (stack === 'ltsp23') {
          // pamltsp's line: Linux-PAM's own words for PAM_AUTH_ERR (its fallback where gettext
          // is not installed, as in this client root), then login(1)'s reply to them.
          expect(attempt.refusal).to.match(/^\.Authentication failure\.$/m);
          expect(attempt.refusal).to.match(/^Login incorrect$/m);
        } else {
          // The server's PAM said no to sshd, which said no to ssh.
          expect(attempt.refusal).to.match(/Permission denied/);
          expect(lab!.server.logTail(200).join('\n')).to.match(new RegExp(`Failed password for ${user.name} from `));
        }
        expect(await leftAfterLogout(clientLeft), 'on the client').to.equal('');
        expect(await leftAfterLogout(serverLeft), 'on the server').to.equal('');
      });

      it('the user logs in at the console, and "session up" joins the timeline after the login prompt', async function () {
        session = await c().logIn(creds, await lab!.loginServer());
        const ids = stageIds(c().timeline);
        expect(ids.slice(-2)).to.deep.equal(['login', 'session']);
        expect(session.mark.t).to.be.above(c().timeline.find((m) => m.stage === 'login')!.t);
      });

      it("the session's uid and groups are the server's", async function () {
        expect(await session.check('id')).to.equal(await onServer(`id ${user.name}`));
      });

      it("the home folder is the server's", async function () {
        const home = await onServer(`getent passwd ${user.name} | cut -d: -f6`);
        expect(await session.check('pwd')).to.equal(home);
        if (stack === 'ltsp23') {
          // pamltsp mounted it at auth: sshfs as root, from the server the client calls `server`.
          expect(await session.check(`findmnt -n -o FSTYPE,SOURCE --target ${home}`)).to.match(new RegExp(`^fuse\\.sshfs\\s+${user.name}@server:$`));
        } else {
          // The session runs on the server itself (ldm's way): its host is the server's.
          expect(await session.check('hostname')).to.equal(await onServer('hostname'));
        }
      });

      it('a file written in the session lands on the server, as the user', async function () {
        const token = `${stack}-${Date.now()}`;
        await session.check(`echo ${token} > ~/login-probe-${stack}`);
        expect(await onServer(`cat ~${user.name}/login-probe-${stack}`)).to.equal(token);
        expect(await onServer(`stat -c %U ~${user.name}/login-probe-${stack}`)).to.equal(user.name);
      });

      it('logout leaves no mount and no process behind, on either side', async function () {
        await session.logout();
        expect(await leftAfterLogout(clientLeft), 'on the client: sshfs mounts, the user\'s processes, ssh/sshfs').to.equal('');
        expect(await leftAfterLogout(serverLeft), "on the server: the user's sshd, sftp-server, shell").to.equal('');
        // The k12 client has no user database of its own: the user was never there.
        if (stack === 'k12') expect((await c().run(`grep -c '^${user.name}:' /etc/passwd`)).output.trim(), "in the client's /etc/passwd").to.equal('0');
      });
    });
  }
});
