import { expect } from 'chai';
import { Deadline, readManifest, sha256File } from '../harness/index';

// Runs last (mocha --sort): after every suite has booted, written and reset clients.
describe('the golden image after the whole suite', function () {
  it("the client root image's hash is the one recorded when it was built", async function () {
    const m = readManifest();
    // The same hash the lab checks the cache with before each run (harness/images/cache-check.ts).
    expect(await sha256File(m.rootImage, Deadline.after(120_000, 'hash the root image'))).to.equal(m.rootSha256);
  });
});
