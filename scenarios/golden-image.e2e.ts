import { expect } from 'chai';
import { Deadline, readManifest, sha256File, hostBudgetMs } from '../harness/index';

/*
 * A root-level hook (outside any describe): mocha runs it once after every suite of the
 * run, whatever the files' order, after they all booted, wrote to and reset clients.
 * The same hash the lab checks the cache with before each run (harness/images/cache-check.ts).
 */
after("the golden image: the client root image's hash is still the one recorded when it was built", async function () {
  const m = readManifest();
  expect(await sha256File(m.rootImage, Deadline.after(hostBudgetMs('hostFiles'), 'hash the root image')), m.rootImage).to.equal(m.rootSha256);
});
