import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readManifest } from '../harness/index';

// Runs last (mocha --sort): after every suite has booted, written and reset clients.
describe('the golden image after the whole suite', function () {
  it("the client root image's hash is the one recorded when it was built", async function () {
    const m = readManifest();
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(m.rootImage)) hash.update(chunk as Buffer);
    expect(hash.digest('hex')).to.equal(m.rootSha256);
  });
});
