import { expect } from 'chai';
import { formatLine, LineRing, type StoredLine } from './line-ring';

/** Lines of `text`, numbered from 0, each starting where the last one (and its newline) ended. */
function lines(...texts: string[]): StoredLine[] {
  let start = 0;
  return texts.map((text, index) => {
    const line = { index, t: index * 1000, text, start };
    start += text.length + 1;
    return line;
  });
}

describe('LineRing', () => {
  it('keeps the last lines, oldest first, once it wraps', () => {
    const ring = new LineRing(3);
    for (const l of lines('a', 'b', 'c', 'd', 'e')) ring.push(l);
    expect(ring.length).to.equal(3);
    expect([0, 1, 2].map((i) => ring.at(i).text)).to.deep.equal(['c', 'd', 'e']);
  });

  it('finds a line by its number while it is kept', () => {
    const ring = new LineRing(2);
    for (const l of lines('a', 'b', 'c')) ring.push(l);
    expect(ring.byIndex(2)?.text).to.equal('c');
    expect(ring.byIndex(1)?.text).to.equal('b');
    expect(ring.byIndex(0)).to.equal(undefined);
    expect(new LineRing(2).byIndex(0)).to.equal(undefined);
  });

  it('finds the first line that ends at or after a position', () => {
    const ring = new LineRing(10);
    // 'one' 0-3, 'two' 4-7, 'three' 8-13
    for (const l of lines('one', 'two', 'three')) ring.push(l);
    expect(ring.firstAtOrAfter(0)).to.equal(0);
    expect(ring.firstAtOrAfter(3)).to.equal(0);
    expect(ring.firstAtOrAfter(4)).to.equal(1);
    expect(ring.firstAtOrAfter(9)).to.equal(2);
    expect(ring.firstAtOrAfter(14)).to.equal(3);
  });

  it('formats a line with its time in seconds', () => {
    expect(formatLine({ index: 0, t: 12_345.6, text: 'iPXE' })).to.equal('[  12.346] iPXE');
  });
});
