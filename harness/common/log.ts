import debug from 'debug';

/**
 * A `debug` logger under the `lab` namespace: `log()` is `lab`, `log('qmp')` is
 * `lab:qmp`, `log('console:c1')` is `lab:console:c1`. Enable with `DEBUG=lab*`.
 */
export const log = (ns = ''): debug.Debugger => debug(ns ? `lab:${ns}` : 'lab');
