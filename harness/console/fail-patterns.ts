import type { FailPattern } from '../qemu-ts-wrapper';

/**
 * Console output that means a boot has failed for good, so a wait can stop at once
 * instead of running into its timeout. Extend with `[...DEFAULT_FAIL_PATTERNS, mine]`.
 */
export const DEFAULT_FAIL_PATTERNS: FailPattern[] = [
  { name: 'kernel-panic', pattern: /Kernel panic - not syncing/ },
  // dracut-emergency(1) and systemd's emergency.target; rdsosreport is written just before.
  {
    name: 'emergency-shell',
    pattern: /Entering emergency mode|dracut Emergency Shell|Generating "\/run\/initramfs\/rdsosreport.txt"/,
  },
  // dracut's die(): "Refusing to continue".
  { name: 'refusing-to-continue', pattern: /Refusing to continue/ },
  // nbd-client's own "Negotiation: ..Error: ..." (an oldstyle server, a refused option):
  // a shell initramfs puts no name before it, and its initqueue then waits out rd.retry
  // in silence before it gives up.
  { name: 'nbd-connect', pattern: /nbd-client.*(Error|failed)|Export unknown|nbd: .*(Connection refused|Negotiation failed)|Negotiation: \.*Error: /i },
];
