import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostId } from './host-id';

describe('gate: hostId', () => {
  it('is a 16-hex hash of machine-id: the same file gives the same id, another file another, and the id is not the machine-id itself', () => {
    const dir = mkdtempSync(join(tmpdir(), 'host-id-'));
    try {
      writeFileSync(join(dir, 'a'), '0123456789abcdef0123456789abcdef\n');
      writeFileSync(join(dir, 'b'), 'fedcba9876543210fedcba9876543210\n');
      const a = hostId(join(dir, 'a'));
      expect(a).to.match(/^[0-9a-f]{16}$/);
      expect(hostId(join(dir, 'a'))).to.equal(a);
      expect(hostId(join(dir, 'b'))).to.not.equal(a);
      expect('0123456789abcdef0123456789abcdef').to.not.include(a);
      // No machine-id: the host name stands in, still a stable id.
      expect(hostId(join(dir, 'none'))).to.equal(hostId(join(dir, 'none'))).and.match(/^[0-9a-f]{16}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
