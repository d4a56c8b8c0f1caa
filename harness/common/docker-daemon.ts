import type { Deadline } from './deadline';
import { execCommand } from './exec';

/** What to do when Docker went away under a run. */
export const DOCKER_GONE_HINT = './lab setup starts dockerd again; then ./lab clean removes what this run left';

/**
 * Whether the Docker daemon answers: undefined when it does, else why not (the client's
 * last stderr line). Asked when a docker call failed, to tell "Docker is gone" (the
 * lab's failure) from "the container is gone" or "the server never got ready".
 */
export async function dockerSilence(deadline: Deadline): Promise<string | undefined> {
  const r = await execCommand('docker', ['version', '--format', '{{.Server.Version}}'], { deadline, allowFailure: true });
  return r.code === 0 ? undefined : r.stderr.trim().split('\n').pop() || `docker version exited ${r.code}`;
}
