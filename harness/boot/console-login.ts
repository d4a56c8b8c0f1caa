import type { Deadline } from '../common/deadline';
import { stepDeadline } from '../common/run-deadline';
import type { LoginCredentials, LoginMethod } from '../client/login-methods';
import type { StageMark } from '../results/types';
import { SerialShell, type ShellMachine } from './serial-shell';
import { BOOT_FAIL_PATTERNS, sessionStage } from './stages';

/** What the client needs to know of the server to log in there. */
export interface LoginServer {
  /** Its address on the lab network: the client reaches it as `server`. */
  ip: string;
  /** Its SSH host keys as `TYPE BASE64` (its /etc/ssh/ssh_host_*_key.pub). */
  hostKeys: string[];
}

/** How a login ended: a session, or the words it was refused with. */
export type LoginAttempt = { ok: true; session: ClientSession } | { ok: false; refusal: string };

/**
 * How a refusal reads on the console. pamltsp prints ".MSG." with MSG shadow's "Login
 * incorrect" through gettext(1), or, where gettext is not installed (the lab's ltsp23
 * client root), Linux-PAM's own "Authentication failure"; login(1) then says "Login
 * incorrect". ssh says "Permission denied" once the server's sshd (and its PAM) said no.
 */
const REFUSED = /Login incorrect|Permission denied|Authentication failure/;

/** login(1)'s own words on a refusal (shadow's), after which it asks for a name again. */
const LOGIN_INCORRECT = /^Login incorrect$/;

/** The password prompt: PAM's "Password: " (login), ssh's "USER@server's password: ". */
const PASSWORD_PROMPT = /[Pp]assword: ?$/;

/** login(1)'s own prompt, where it asks again after a refusal. */
const LOGIN_AGAIN = /login: ?$/;

/**
 * A user's session at a client's console, as a login left it: commands at its prompt
 * (a SerialShell on the user's prompt), and the logout back to root's shell.
 */
export class ClientSession {
  private readonly shell: SerialShell;
  private closed = false;

  constructor(
    readonly user: string,
    readonly method: LoginMethod,
    /** The "session up" mark: when its prompt came. */
    readonly mark: StageMark,
    private readonly name: string,
    private readonly machine: ShellMachine,
    private readonly rootShell: SerialShell,
    consoleLogFile: string,
    /** One command's limit on this client (its shellCommand budget). */
    private readonly commandBudgetMs: number,
  ) {
    this.shell = new SerialShell(`${name} (${user}'s session)`, machine, consoleLogFile, sessionStage(user).pattern);
    // The login waited for the session's first prompt.
    this.shell.promptShown();
  }

  /** Runs a command in the session (see SerialShell.run). */
  run(command: string, deadline: Deadline = this.step(command)): ReturnType<SerialShell['run']> {
    return this.shell.run(command, deadline);
  }

  /** Like run(), but a non-zero exit is a SutError. */
  check(command: string, deadline: Deadline = this.step(command)): Promise<string> {
    return this.shell.check(command, deadline);
  }

  private step(command: string): Deadline {
    return stepDeadline(this.commandBudgetMs, `${this.name}: ${this.user}: ${command}`);
  }

  /** Types `exit` at its prompt and waits for root's shell again (login(1) or ssh returned). Idempotent. */
  async logout(deadline: Deadline = this.step('exit')): Promise<void> {
    if (this.closed) return;
    await this.shell.claimPrompt(deadline, 'exit');
    this.machine.type('exit\n');
    this.closed = true;
    await this.rootShell.awaitPrompt(deadline, `${this.user}'s logout`);
  }
}

/**
 * Logs a user of the server in at a client's console, from root's shell, the stack's way
 * (client/login-methods.ts): `login USER` (pamltsp: PAM asks, LTSP's module checks the
 * password by ssh to the server), or `ssh USER@server` (the k12 stack's session, run on
 * the server: what ldm did). The typed password never reaches the log: both prompts
 * switch the echo off.
 */
export async function logInAtConsole(
  name: string,
  machine: ShellMachine,
  rootShell: SerialShell,
  consoleLogFile: string,
  method: LoginMethod,
  creds: LoginCredentials,
  server: LoginServer,
  deadline: Deadline,
  commandBudgetMs: number,
): Promise<LoginAttempt> {
  const console = machine.console;
  const wait = (pattern: RegExp, what: string) => console.waitFor(pattern, { deadline, failOn: BOOT_FAIL_PATTERNS, exited: machine.exited, what: `${name}: ${what}` });
  let command: string;
  if (method.id === 'ssh-session') {
    // ltsp-update-sshkeys' job on K12Linux (the server's keys in the client root), done
    // at login: the client root is built before the server's keys exist. The root is the
    // union's RAM, so this lasts until the client resets.
    // One key keeps the typed line short (a long line at a busy TCG guest's tty is slow to take).
    const keys = server.hostKeys.filter((k) => k.startsWith('ssh-ed25519 '));
    const known = (keys.length ? keys : server.hostKeys).map((k) => `'server ${k}'`).join(' ');
    await rootShell.check(`printf '%s\\n' ${known} >/etc/ssh/ssh_known_hosts && { grep -q '[[:space:]]server$' /etc/hosts || echo '${server.ip} server' >>/etc/hosts; }`, deadline);
    command = `ssh -o NumberOfPasswordPrompts=1 ${creds.user}@server`;
  } else {
    // pamltsp's side is the stack's own: `ltsp init` wrote /etc/hosts' `server` and
    // /etc/ltsp/ssh_known_hosts from ltsp.img, and ran `pamltsp install`.
    command = `login ${creds.user}`;
  }
  await rootShell.claimPrompt(deadline, `'${command}'`);
  const stage = sessionStage(creds.user);
  machine.type(`${command}\n`);
  await wait(new RegExp(`${command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`), `'${command}' echoed`);
  await wait(PASSWORD_PROMPT, `the password prompt of '${command}'`);
  machine.type(`${creds.password}\n`);
  const m = await wait(new RegExp(`(?:${stage.pattern.source})|(${REFUSED.source})`), `${creds.user}'s session, or its refusal`);
  if (m.match[1] !== undefined) {
    let last = m.line.index;
    if (method.id === 'pamltsp') {
      // login(1) asks again (LOGIN_RETRIES): ^C at its prompt ends it (SIGINT).
      last = (await wait(LOGIN_INCORRECT, "login(1)'s own refusal")).line.index;
      await wait(LOGIN_AGAIN, 'login(1) asking again after the refusal');
      machine.type('\x03');
    }
    await rootShell.awaitPrompt(deadline, `'${command}' was refused`);
    const refusal = console.lines().filter((l) => l.index >= m.line.index && l.index <= last).map((l) => l.text).join('\n');
    return { ok: false, refusal };
  }
  const mark: StageMark = { stage: stage.id, label: stage.label, t: Math.round(m.t), line: m.line.text, budgetMs: Math.round(deadline.totalMs) };
  return { ok: true, session: new ClientSession(creds.user, method, mark, name, machine, rootShell, consoleLogFile, commandBudgetMs) };
}
