import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { junitSummary } from './junit-summary';

describe('junitSummary: the closing line of ./lab test', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ltsp-lab-junit-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('counts the test cases that ran, not the suites\' totals (which --grep does not shrink), over every file', () => {
    // As mocha-junit-reporter writes it after --grep: tests="18" for a suite of which 3 ran.
    writeFileSync(join(dir, 'a.xml'), [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<testsuites name="ltsp-lab" time="4.7" tests="18" failures="1">',
      '  <testsuite name="s" timestamp="2026-12-02T02:43:48" tests="18" file="x.e2e.ts" time="4.7" failures="1">',
      '    <testcase name="s one" time="0.4" classname="one">',
      '    </testcase>',
      '    <testcase name="s two" time="0.4" classname="two">',
      '      <failure message="boom" type="AssertionError"><![CDATA[boom]]></failure>',
      '    </testcase>',
      '    <testcase name="s three" time="0" classname="three">',
      '      <skipped/>',
      '    </testcase>',
      '  </testsuite>',
      '</testsuites>',
    ].join('\n'));
    writeFileSync(join(dir, 'b.xml'), '<testsuites tests="1"><testsuite tests="1" failures="0"><testcase name="u" classname="u"/></testsuite></testsuites>');
    writeFileSync(join(dir, 'notes.txt'), '<testcase name="not junit"/>');
    expect(junitSummary(dir)).to.deep.equal({ passed: 2, failed: 1, skipped: 1 });
  });
});
