/** Awaits a promise that must reject and returns its error; a result is a test failure. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection, got a result');
}
