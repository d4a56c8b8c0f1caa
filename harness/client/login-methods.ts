import { UsageError } from '../common/errors';
import type { ClientStack } from './client-spec';

/**
 * How a client logs a user of the server in at its console (docs/login.md):
 *
 * - `pamltsp`: LTSP 23's PAM module (the ltsp package's client/login/pamltsp): login(1)
 *   asks for the password, pamltsp checks it by `ssh USER@server sftp` and mounts the
 *   server's home over SSHFS; the session runs on the client.
 * - `ssh-session`: what K12Linux's ldm did: ssh from the client to the server with the
 *   typed password; the session runs on the server, in the server's home.
 */
export type LoginMethodId = 'pamltsp' | 'ssh-session';

export interface LoginMethod {
  id: LoginMethodId;
  /** In a sentence: where the password is checked and where the session runs. */
  summary: string;
}

/** The one table of how each stack logs in; null: the stack has no login (--login is refused). */
export const STACK_LOGIN: Readonly<Record<ClientStack, LoginMethod | null>> = {
  k12: { id: 'ssh-session', summary: "ssh to the server with the typed password, the session on the server (ldm's job)" },
  ltsp23: { id: 'pamltsp', summary: "login(1) through LTSP's pamltsp: the password checked by ssh to the server, the home mounted over SSHFS" },
};

/** The stack's login method, or null when it has none. */
export function loginMethodOf(stack: ClientStack, table: Readonly<Record<ClientStack, LoginMethod | null>> = STACK_LOGIN): LoginMethod | null {
  return table[stack];
}

/** --login with clients of these stacks: a UsageError (exit 2, before anything starts) naming a stack that has no login. */
export function checkLoginStacks(stacks: readonly ClientStack[], table: Readonly<Record<ClientStack, LoginMethod | null>> = STACK_LOGIN): void {
  const without = stacks.find((stack) => table[stack] === null);
  if (without === undefined) return;
  const having = Object.entries(table).filter(([, m]) => m !== null).map(([stack, m]) => `${stack} (${m?.id})`);
  throw new UsageError(`--login: the ${without} stack has no login yet`, { hint: `the stacks with one: ${having.join(', ') || 'none'}` });
}

/** Who logs in, and with what password (./lab boot --login USER[:PASSWORD]; server/lab-users.ts). */
export interface LoginCredentials {
  user: string;
  password: string;
}
