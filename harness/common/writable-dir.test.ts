import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './errors';
import { checkWritableDir, ensureWritableDir } from './writable-dir';

describe('report folders: checked up front, made when there is something to put in them', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ltsp-writable-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('checkWritableDir proves a folder can be made and written, and leaves nothing behind', () => {
    expect(checkWritableDir(join(dir, 'a', 'b'), 'report folder')).to.equal(join(dir, 'a', 'b'));
    expect(readdirSync(dir)).to.deep.equal([]);
    expect(ensureWritableDir(join(dir, 'a', 'b'), 'report folder')).to.equal(join(dir, 'a', 'b'));
    expect(existsSync(join(dir, 'a', 'b'))).to.equal(true);
  });

  it('a folder that cannot be made is a usage error, and the levels made on the way are gone again', () => {
    expect(() => checkWritableDir('/proc/ltsp-lab-report/x', 'report folder')).to.throw(UsageError, /cannot write the report folder \/proc\/ltsp-lab-report\/x/);
  });
});
