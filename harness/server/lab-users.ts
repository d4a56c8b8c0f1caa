import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../common/paths';
import { UsageError } from '../common/errors';
import type { LoginCredentials } from '../client/login-methods';

/** One of the lab's fixture users: it exists on the server only (vm-images/server/lab-users). */
export interface LabUser {
  name: string;
  password: string;
  /** Its groups besides its own. */
  groups: string[];
}

/** The table the server image's build reads too: the one source of the lab's users. */
export const LAB_USERS_FILE = join(repoRoot(), 'vm-images', 'server', 'lab-users');

/** A name useradd takes and a prompt pattern can hold as it is. */
const USER_NAME = /^[a-z_][a-z0-9_-]*$/;

/** The table's rows: `name password [group,group]`, `#` comments and blank lines skipped. */
export function parseLabUsers(text: string, file = LAB_USERS_FILE): LabUser[] {
  const users: LabUser[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [name = '', password = '', groups, ...rest] = line.split(/\s+/);
    if (!USER_NAME.test(name) || password === '' || rest.length > 0) throw new Error(`${file}:${i + 1}: give 'name password [group,...]', not '${line}'`);
    if (users.some((u) => u.name === name)) throw new Error(`${file}:${i + 1}: ${name} is in the table twice`);
    users.push({ name, password, groups: groups ? groups.split(',') : [] });
  });
  return users;
}

let cached: LabUser[] | undefined;

/** The lab's users, from LAB_USERS_FILE. */
export function labUsers(): LabUser[] {
  cached ??= parseLabUsers(readFileSync(LAB_USERS_FILE, 'utf8'));
  return cached;
}

/**
 * USER[:PASSWORD] checked against the table (a UsageError for a user it has not): the
 * password defaults to the table's. A password given is taken as it is, a wrong one
 * included (the server refuses it, not the harness).
 */
export function parseLogin(raw: string, users: readonly LabUser[] = labUsers()): LoginCredentials {
  const colon = raw.indexOf(':');
  const name = colon < 0 ? raw : raw.slice(0, colon);
  const user = users.find((u) => u.name === name);
  if (!user) {
    throw new UsageError(`--login ${name || "''"}: no such user on the lab's server`, { hint: `the lab's users (vm-images/server/lab-users): ${users.map((u) => u.name).join(', ')}` });
  }
  const password = colon < 0 ? user.password : raw.slice(colon + 1);
  if (password === '' || password.includes('\n')) throw new UsageError(`--login ${name}: give a password after the colon, on one line, or leave the colon out for the table's`);
  return { user: name, password };
}
