/**
 * Wire constants of the NBD protocol, fixed-newstyle handshake and simple replies only.
 * Values and names are those of the NBD project's doc/proto.md ("Values").
 */

export const NBD_DEFAULT_PORT = 10809;

export const NBDMAGIC = 0x4e42444d41474943n; // 'NBDMAGIC'
export const IHAVEOPT = 0x49484156454f5054n; // 'IHAVEOPT'
/** Second magic of the oldstyle handshake, which nbd-server dropped in 3.10. */
export const CLISERV_MAGIC = 0x00420281861253n;
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

// Handshake flags (server) and client flags.
export const NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_NO_ZEROES = 1 << 1;
export const NBD_FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_C_NO_ZEROES = 1 << 1;

// Transmission flags.
export const NBD_FLAG_HAS_FLAGS = 1 << 0;
export const NBD_FLAG_READ_ONLY = 1 << 1;

export const NBD_OPT_EXPORT_NAME = 1;
export const NBD_OPT_ABORT = 2;
export const NBD_OPT_LIST = 3;
export const NBD_OPT_GO = 7;

export const NBD_REP_ACK = 1;
export const NBD_REP_SERVER = 2;
export const NBD_REP_INFO = 3;
export const NBD_REP_FLAG_ERROR = 0x8000_0000;
export const NBD_REP_ERR_UNSUP = NBD_REP_FLAG_ERROR + 1;

export const NBD_INFO_EXPORT = 0;

export const NBD_CMD_READ = 0;
export const NBD_CMD_WRITE = 1;
export const NBD_CMD_DISC = 2;

/** Padding after NBD_OPT_EXPORT_NAME's reply unless NO_ZEROES was negotiated. */
export const EXPORT_NAME_ZEROES = 124;

const OPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'NBD_OPT_EXPORT_NAME',
  2: 'NBD_OPT_ABORT',
  3: 'NBD_OPT_LIST',
  5: 'NBD_OPT_STARTTLS',
  6: 'NBD_OPT_INFO',
  7: 'NBD_OPT_GO',
  8: 'NBD_OPT_STRUCTURED_REPLY',
};

const REPLY_NAMES: Readonly<Record<number, string>> = {
  1: 'NBD_REP_ACK',
  2: 'NBD_REP_SERVER',
  3: 'NBD_REP_INFO',
  4: 'NBD_REP_META_CONTEXT',
  [NBD_REP_FLAG_ERROR + 1]: 'NBD_REP_ERR_UNSUP',
  [NBD_REP_FLAG_ERROR + 2]: 'NBD_REP_ERR_POLICY',
  [NBD_REP_FLAG_ERROR + 3]: 'NBD_REP_ERR_INVALID',
  [NBD_REP_FLAG_ERROR + 4]: 'NBD_REP_ERR_PLATFORM',
  [NBD_REP_FLAG_ERROR + 5]: 'NBD_REP_ERR_TLS_REQD',
  [NBD_REP_FLAG_ERROR + 6]: 'NBD_REP_ERR_UNKNOWN',
  [NBD_REP_FLAG_ERROR + 7]: 'NBD_REP_ERR_SHUTDOWN',
  [NBD_REP_FLAG_ERROR + 8]: 'NBD_REP_ERR_BLOCK_SIZE_REQD',
  [NBD_REP_FLAG_ERROR + 9]: 'NBD_REP_ERR_TOO_BIG',
};

/** The error values of proto.md "Error values"; anything else is reported as 'UNKNOWN'. */
export type NbdErrnoName = 'EPERM' | 'EIO' | 'ENOMEM' | 'EINVAL' | 'ENOSPC' | 'EOVERFLOW' | 'ENOTSUP' | 'ESHUTDOWN' | 'UNKNOWN';

const ERRNO_NAMES: Readonly<Record<number, NbdErrnoName>> = {
  1: 'EPERM',
  5: 'EIO',
  12: 'ENOMEM',
  22: 'EINVAL',
  28: 'ENOSPC',
  75: 'EOVERFLOW',
  95: 'ENOTSUP',
  108: 'ESHUTDOWN',
};

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

export function optionName(opt: number): string {
  return OPTION_NAMES[opt] ?? `NBD_OPT_${opt}`;
}

/** 'NBD_REP_ERR_POLICY' etc.; unknown errors keep the error bit visible: 'NBD_REP_ERR_0x8000000a'. */
export function replyName(type: number): string {
  const known = REPLY_NAMES[type];
  if (known !== undefined) return known;
  return isErrorReply(type) ? `NBD_REP_ERR_${hex(type)}` : `NBD_REP_${hex(type)}`;
}

export function isErrorReply(type: number): boolean {
  return (type & NBD_REP_FLAG_ERROR) !== 0;
}

export function errnoName(errno: number): NbdErrnoName {
  return ERRNO_NAMES[errno] ?? 'UNKNOWN';
}
