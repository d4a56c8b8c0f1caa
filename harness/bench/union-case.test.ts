import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { HarnessError } from '../common/errors';
import { loadFigures, READ_LOAD, unionTable, WRITE_FILES, WRITE_LOAD } from './union-case';

describe('bench case union: the loads and the side-by-side table', () => {
  it('reads the figures a load printed on its last line, and refuses anything else', () => {
    expect(loadFigures('12345\n', 1, 'read')).to.deep.equal([12345]);
    expect(loadFigures('some noise\r\n812 95', 2, 'write')).to.deep.equal([812, 95]);
    expect(() => loadFigures('find: /usr/x: Permission denied', 1, 'c1: the read load')).to.throw(HarnessError, /c1: the read load: expected 1 number\(s\) from the guest/);
    expect(() => loadFigures('812', 2, 'write')).to.throw(HarnessError);
    expect(() => loadFigures('', 1, 'read')).to.throw(HarnessError);
  });

  it('the write load creates WRITE_FILES files and deletes them, printing the ms of each half (run by bash here, in a temporary root)', () => {
    const root = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
    try {
      // Only the folder changes: the load's own commands, as the guest's shell runs them.
      const r = spawnSync('bash', ['-c', `${WRITE_LOAD.replace('d=/var/lib/ltsp-bench', `d=${root}/ltsp-bench`).replace('rm -rf $d;', `ls $d | wc -l >&2; rm -rf $d;`)}`], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      expect(Number(r.stderr.trim())).to.equal(WRITE_FILES);
      expect(loadFigures(r.stdout, 2, 'write')).to.have.length(2);
      expect(spawnSync('ls', ['-A', root], { encoding: 'utf8' }).stdout).to.equal('');
    } finally {
      spawnSync('rm', ['-rf', root]);
    }
  });

  it('the read load drops the page cache before it reads /usr, and times only the reading', () => {
    expect(READ_LOAD).to.match(/^sync; echo 3 > \/proc\/sys\/vm\/drop_caches; s=\$\(date \+%s%N\); find \/usr -type f -exec cat \{\} \+ >\/dev\/null 2>&1; e=\$\(date \+%s%N\);/);
  });

  it('sets the methods side by side, the loads as rows, none without a write load, and the seed\'s cost against the kernel overlay', () => {
    const values: Record<string, number[]> = {
      'login-unionfs-fuse': [22, 21, 23],
      'login-overlayfs': [20, 20, 21],
      'login-none': [19, 19.5, 20],
      'read-unionfs-fuse': [60, 62, 61],
      'read-overlayfs': [30, 31, 29],
      'read-none': [28, 28, 28],
      'write-unionfs-fuse': [4, 4.2, 4.1],
      'write-overlayfs': [1, 1, 1],
      'cost-read': [2, 2.1, 1.9],
    };
    const t = unionTable((id) => values[id] ?? []);
    expect(t.header).to.deep.equal(['load', 'unionfs-fuse', 'overlayfs', 'none', 'unionfs-fuse / overlayfs']);
    expect(t.rows.map((r) => r[0])).to.deep.equal(['boot to login', 'read all of /usr, page cache dropped', `write: ${WRITE_FILES} small files created, then deleted`, `  of it: ${WRITE_FILES} files created`, '  of it: the folder deleted']);
    const [login, read, write] = t.rows;
    expect(login!.slice(1, 4)).to.deep.equal(['22.0', '20.0', '19.5']);
    expect(read).to.deep.equal(['read all of /usr, page cache dropped', '61.0', '30.0', '28.0', '2.00x']);
    expect(write!.slice(1)).to.deep.equal(['4.10', '1.00', '-', '-']);
  });
});
