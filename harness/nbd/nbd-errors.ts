import { HarnessError, SutError, type LabErrorOptions } from '../common/errors';
import type { NbdErrnoName } from './nbd-protocol';

/*
 * What an NBD server can do wrong, as seen by NbdPeer. Refusals, failed commands and a
 * server that cannot be reached are SutErrors: the server is the system under test. A
 * broken exchange (NbdProtocolError) is not: NbdPeer is our own client, and a bad
 * reply or a hang-up mid-transmission may as well be its fault. A deadline running
 * out is a DeadlineError, as everywhere else.
 */

export interface NbdRefusedErrorOptions extends LabErrorOptions {
  /** "host:port". */
  server: string;
  /** The step that was refused: 'handshake', 'NBD_OPT_LIST', 'NBD_OPT_GO', 'NBD_OPT_EXPORT_NAME'. */
  during: string;
  /** The error reply's name, e.g. 'NBD_REP_ERR_POLICY', or 'closed' if the server hung up instead. */
  reason: string;
  exportName?: string;
  /** The message the server sent with its error reply, if any. */
  serverMessage?: string;
  /** The socket error that came with the hang-up, e.g. 'ECONNRESET'. */
  socketError?: string;
}

/** The server refused a handshake step, by an error reply or by closing the connection. */
export class NbdRefusedError extends SutError {
  readonly server: string;
  readonly during: string;
  readonly reason: string;
  readonly exportName?: string;
  readonly serverMessage?: string;

  constructor(opts: NbdRefusedErrorOptions) {
    const what = opts.exportName === undefined ? opts.during : `${opts.during} for export '${opts.exportName}'`;
    const how = opts.reason === 'closed'
      ? `closed the connection${opts.socketError ? ` (${opts.socketError})` : ''}`
      : `${opts.reason}${opts.serverMessage ? ` (${opts.serverMessage})` : ''}`;
    super(`NBD server ${opts.server} refused ${what}: ${how}`, opts);
    this.server = opts.server;
    this.during = opts.during;
    this.reason = opts.reason;
    if (opts.exportName !== undefined) this.exportName = opts.exportName;
    if (opts.serverMessage !== undefined) this.serverMessage = opts.serverMessage;
  }
}

export interface NbdCommandErrorOptions extends LabErrorOptions {
  server: string;
  exportName: string;
  /** 'NBD_CMD_READ' or 'NBD_CMD_WRITE'. */
  command: string;
  offset: bigint;
  length: number;
  errno: number;
  errnoName: NbdErrnoName;
}

/** A transmission-phase command came back with a non-zero error in its simple reply. */
export class NbdCommandError extends SutError {
  readonly server: string;
  readonly exportName: string;
  readonly command: string;
  readonly offset: bigint;
  readonly length: number;
  readonly errno: number;
  readonly errnoName: NbdErrnoName;

  constructor(opts: NbdCommandErrorOptions) {
    super(
      `NBD server ${opts.server} failed ${opts.command} of ${opts.length} bytes at offset ${opts.offset} ` +
        `on export '${opts.exportName}': ${opts.errnoName} (error ${opts.errno})`,
      opts,
    );
    this.server = opts.server;
    this.exportName = opts.exportName;
    this.command = opts.command;
    this.offset = opts.offset;
    this.length = opts.length;
    this.errno = opts.errno;
    this.errnoName = opts.errnoName;
  }
}

/**
 * The exchange broke: bad magic, an unexpected reply, a hang-up mid-transmission. A
 * HarnessError, since our own NBD client cannot be ruled out as the one at fault.
 */
export class NbdProtocolError extends HarnessError {}

export interface NbdConnectErrorOptions extends LabErrorOptions {
  server: string;
  /** The socket error code, e.g. 'ECONNREFUSED'. */
  code?: string;
}

/**
 * No TCP connection could be made. Kept apart from NbdRefusedError so that "the server
 * is not running" never passes for "the server turned this client away".
 */
export class NbdConnectError extends SutError {
  readonly server: string;
  readonly code?: string;

  constructor(message: string, opts: NbdConnectErrorOptions) {
    super(message, opts);
    this.server = opts.server;
    if (opts.code !== undefined) this.code = opts.code;
  }
}
