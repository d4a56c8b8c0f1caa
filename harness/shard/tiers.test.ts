import { expect } from 'chai';
import { UsageError } from '../common/errors';
import { parseTier, tierGrep, tierOfTitle } from './tiers';

/** mocha's reading of a --grep: a RegExp source, or /RE/FLAGS. */
function mochaGrep(grep: string): RegExp {
  const m = /^\/(.*)\/([gimy]{0,4})$/.exec(grep);
  return m ? new RegExp(m[1] as string, m[2]) : new RegExp(grep);
}

describe('tiers', () => {
  it('a title declares one tier, in its own words or a describe\'s', () => {
    expect(tierOfTitle('boot to login @smoke passes every stage')).to.equal('smoke');
    expect(tierOfTitle('bisect: the first bad commit @full')).to.equal('full');
    expect(tierOfTitle('no tag at all')).to.match(/^declares no tier/);
    expect(tierOfTitle('both @smoke and @full')).to.match(/^declares 2 tiers \(@smoke, @full\): one only/);
    // A word that only looks like one is none.
    expect(tierOfTitle('mail me@smoke.example')).to.match(/^declares no tier/);
  });

  it('--tier: smoke or full, nothing else', () => {
    expect(parseTier('smoke')).to.equal('smoke');
    expect(() => parseTier('fast')).to.throw(UsageError, /--tier 'fast' is not a tier/);
  });

  it('the smoke grep takes the smoke tests that also match the user\'s --grep; the full tier adds nothing', () => {
    const titles = ['boot to login @smoke passes every stage', 'bisect @full finds the commit', 'report page: @smoke draws', 'two clients @smoke boot at once'];
    const pick = (g: string | undefined): string[] => titles.filter((t) => g === undefined || mochaGrep(g).test(t));
    expect(pick(tierGrep('smoke'))).to.deep.equal([titles[0], titles[2], titles[3]]);
    expect(pick(tierGrep('smoke', 'clients|bisect'))).to.deep.equal([titles[3]]);
    // The user's own anchor keeps its meaning: the title's start.
    expect(pick(tierGrep('smoke', '^report page: '))).to.deep.equal([titles[2]]);
    expect(pick(tierGrep('smoke', '/BOOT TO/i'))).to.deep.equal([titles[0]]);
    expect(tierGrep('full')).to.equal(undefined);
    expect(tierGrep('full', 'x')).to.equal('x');
  });
});
