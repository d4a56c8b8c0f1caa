import { expect } from 'chai';
import { DETACH_ESCAPE, DetachKey } from './detach-key';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const ESC = String.fromCharCode(DETACH_ESCAPE);

describe('DetachKey: Ctrl-] then q detaches ./lab attach', () => {
  it('forwards ordinary keys untouched, Ctrl-C and Ctrl-D included', () => {
    const r = new DetachKey().feed(b('ls -l\r\x03\x04'));
    expect(r).to.deep.equal({ forward: b('ls -l\r\x03\x04'), detach: false, help: false });
  });

  it('Ctrl-] q detaches, and nothing after it is sent', () => {
    const r = new DetachKey().feed(b(`echo hi${ESC}qrm -rf /\r`));
    expect(r.detach).to.equal(true);
    expect(r.forward).to.deep.equal(b('echo hi'));
  });

  it('detaches when the escape ends one chunk and q starts the next (keys come as the terminal sends them)', () => {
    const k = new DetachKey();
    const first = k.feed(b(`abc${ESC}`));
    expect(first).to.deep.equal({ forward: b('abc'), detach: false, help: false });
    expect(k.pending).to.equal(true);
    expect(k.feed(b('q')).detach).to.equal(true);
  });

  it('Ctrl-] Ctrl-] sends one Ctrl-] (for a program in the guest that wants it)', () => {
    const r = new DetachKey().feed(b(`${ESC}${ESC}x`));
    expect(r).to.deep.equal({ forward: b(`${ESC}x`), detach: false, help: false });
  });

  it('Ctrl-] and another key sends both, and the key after is plain again', () => {
    const k = new DetachKey();
    expect(k.feed(b(`${ESC}a`)).forward).to.deep.equal(b(`${ESC}a`));
    expect(k.pending).to.equal(false);
    expect(k.feed(b('q')).detach).to.equal(false);
  });

  it('q alone, or a q long after an answered escape, does not detach', () => {
    const k = new DetachKey();
    expect(k.feed(b('quit\r')).detach).to.equal(false);
    expect(k.feed(b(`${ESC}${ESC}`)).detach).to.equal(false);
    expect(k.feed(b('q')).detach).to.equal(false);
  });

  it('Ctrl-] ? asks for help and sends nothing', () => {
    const r = new DetachKey().feed(b(`${ESC}?`));
    expect(r).to.deep.equal({ forward: b(''), detach: false, help: true });
  });
});
