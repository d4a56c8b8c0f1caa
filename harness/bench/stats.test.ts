import { expect } from 'chai';
import { ratio, spread } from '../common/spread';
import { MetricRecorder } from './stats';

describe('bench stats', () => {
  it('spread: min, median and max of an odd count', () => {
    expect(spread([84.2, 83.9, 85.0])).to.deep.equal({ min: 83.9, median: 84.2, max: 85.0 });
  });

  it('spread: the median of an even count is the mean of the middle two', () => {
    expect(spread([4, 1, 3, 2])).to.deep.equal({ min: 1, median: 2.5, max: 4 });
  });

  it('spread: one value is its own min, median and max; none is undefined', () => {
    expect(spread([7])).to.deep.equal({ min: 7, median: 7, max: 7 });
    expect(spread([])).to.equal(undefined);
    expect(spread([NaN, Infinity])).to.equal(undefined);
  });

  it('spread does not reorder its input', () => {
    const v = [3, 1, 2];
    spread(v);
    expect(v).to.deep.equal([3, 1, 2]);
  });

  it('ratio: a / b, undefined for a missing or non-positive denominator', () => {
    expect(ratio(90, 60)).to.equal(1.5);
    expect(ratio(undefined, 60)).to.equal(undefined);
    expect(ratio(90, undefined)).to.equal(undefined);
    expect(ratio(90, 0)).to.equal(undefined);
  });

  it('MetricRecorder: summarizes in spec order, skips what was not measured, judges the median against the target', () => {
    const r = new MetricRecorder();
    for (const v of [1.6, 1.2, 1.3]) r.add('ratio', v);
    r.add('ratio', undefined);
    r.add('warm', 2);
    r.add('warm', 9);
    const [warm, ratioM, none] = r.summarize([
      { id: 'warm', label: 'warm build', unit: 's', target: { max: 5, source: 'issue 5' } },
      { id: 'ratio', label: 'lab / bare', unit: 'x', target: { max: 1.25, source: 'issue 5' } },
      { id: 'none', label: 'never measured', unit: 's', target: { max: 1, source: 'issue 5' } },
    ]);
    expect(warm).to.include({ min: 2, median: 5.5, max: 9, met: false });
    expect(warm?.values).to.deep.equal([2, 9]);
    expect(ratioM).to.include({ min: 1.2, median: 1.3, max: 1.6, met: false });
    expect(ratioM?.values).to.deep.equal([1.6, 1.2, 1.3]);
    expect(none?.values).to.deep.equal([]);
    expect(none).to.not.have.any.keys('min', 'median', 'max', 'met');
  });

  it('MetricRecorder: a median at the target meets it; no target, no verdict', () => {
    const r = new MetricRecorder();
    r.add('a', 3);
    r.add('b', 3);
    const [a, b] = r.summarize([
      { id: 'a', label: 'a', unit: 's', target: { max: 3, source: 'issue 5' } },
      { id: 'b', label: 'b', unit: 's' },
    ]);
    expect(a?.met).to.equal(true);
    expect(b).to.not.have.property('met');
  });
});
