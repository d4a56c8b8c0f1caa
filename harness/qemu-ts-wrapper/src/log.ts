import debug from 'debug';

let prefix = 'qemu-ts-wrapper';

/**
 * Puts the wrapper's `debug` namespaces under `p` (default `qemu-ts-wrapper`): with
 * 'lab', QMP traffic logs as `lab:qmp` and a console as `lab:console:<name>`.
 */
export function setDebugPrefix(p: string): void {
  prefix = p;
}

export type Logger = (fmt: string, ...args: unknown[]) => void;

/** A logger for `<prefix>:<ns>`, resolved at each call so setDebugPrefix may come after the import. */
export function log(ns: string): Logger {
  let made: debug.Debugger | undefined;
  let madeFor = '';
  return (fmt, ...args) => {
    if (!made || madeFor !== prefix) {
      madeFor = prefix;
      made = debug(`${prefix}:${ns}`);
    }
    made(fmt, ...args);
  };
}
