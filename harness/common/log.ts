import debug from 'debug';
import { setDebugPrefix } from '../qemu-ts-wrapper';

// The QEMU layer logs as lab:qemu, lab:qmp, lab:console:<vm>, lab:proc:<name>.
setDebugPrefix('lab');

/**
 * A `debug` logger under the `lab` namespace: `log()` is `lab`, `log('qmp')` is
 * `lab:qmp`, `log('console:c1')` is `lab:console:c1`. Enable with `DEBUG=lab*`.
 */
export const log = (ns = ''): debug.Debugger => debug(ns ? `lab:${ns}` : 'lab');
