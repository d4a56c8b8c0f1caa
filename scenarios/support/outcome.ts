import type { Deadline } from '../../harness/index';

/** Awaits a promise that must reject and returns its error; a result is a test failure. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection, got a result');
}

/** Polls `check` every 250 ms until it returns a value, within the deadline. */
export async function until<T>(deadline: Deadline, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  while (true) {
    const v = await check();
    if (v !== undefined) return v;
    if (deadline.expired()) throw deadline.error();
    await deadline.sleep(250);
  }
}
