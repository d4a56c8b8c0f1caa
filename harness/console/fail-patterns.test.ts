import { expect } from 'chai';
import { DEFAULT_FAIL_PATTERNS } from './fail-patterns';

describe('DEFAULT_FAIL_PATTERNS', () => {
  const failing: [string, string][] = [
    ['Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)', 'kernel-panic'],
    ['[  OK  ] Reached target Emergency Mode. Entering emergency mode. Exit the shell to continue.', 'emergency-shell'],
    ['Generating "/run/initramfs/rdsosreport.txt"', 'emergency-shell'],
    ['dracut Emergency Shell', 'emergency-shell'],
    ['dracut: FATAL: Failed to mount root. Refusing to continue', 'refusing-to-continue'],
    ['nbd-client: Error: Socket failed: Connection refused', 'nbd-connect'],
    ['Error: Server closed connection: Export unknown', 'nbd-connect'],
    ['nbd: nbd0: Negotiation failed', 'nbd-connect'],
  ];
  const benign = [
    'nbd-client: Negotiation: ..size = 2048MB',
    '[  OK  ] Started nbd-server.service - Network Block Device server.',
    'Begin: Running /scripts/nbd-premount ... done.',
    'c1 login: ',
  ];

  it('recognises the failures they are for', () => {
    for (const [line, name] of failing) {
      const hit = DEFAULT_FAIL_PATTERNS.find((f) => f.pattern.test(line));
      expect(hit?.name, line).to.equal(name);
    }
  });

  it('leaves a healthy boot alone', () => {
    for (const line of benign) {
      expect(DEFAULT_FAIL_PATTERNS.filter((f) => f.pattern.test(line)).map((f) => f.name), line).to.deep.equal([]);
    }
  });
});
