import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHtmlReport, writeHtmlReport } from './html-report';
import type { RunReport } from './types';

const RUN: RunReport = {
  runId: 'run-20240501-1200-ab12',
  title: 'Two clients <boot> & one fails',
  startedAt: '2024-05-01T12:00:00.000Z',
  finishedAt: '2024-05-01T12:01:05.500Z',
  serverLog: 'server/server.log',
  notes: ['host speed factor 12 (TCG) & KVM off'],
  clients: [
    {
      client: 'c1',
      mac: '52:54:00:12:34:01',
      ok: true,
      leaseIp: '192.168.67.101',
      memoryMb: 384,
      consoleLog: 'c1/console.log',
      qmpLog: 'c1/qmp.log',
      stages: [
        { stage: 'pxe', label: 'PXE', t: 1234, line: 'iPXE 1.21.1+ -- Open Source Network Boot Firmware' },
        { stage: 'kernel', label: 'kernel', t: 4560, line: '[    0.000000] Linux version 6.1.0-18-amd64' },
        { stage: 'nbd-root', label: 'NBD root', t: 9870, line: '[    5.120000] nbd0: detected capacity change from 0 to 2097152' },
        { stage: 'login', label: 'login', t: 15040, line: 'ltsp-client login: <&> "quoted"' },
      ],
    },
    {
      client: 'c2',
      mac: '52:54:00:12:34:02',
      ok: false,
      failedStage: 'nbd-root',
      error: 'timed out after 30.0 s waiting for /nbd0: detected/\n--- last 1 console lines ---\n[ 5.0] nbd: <connect failed> & retrying',
      consoleLog: 'c2 logs/console #1.log',
      qmpLog: 'javascript:alert(1)',
      stages: [
        { stage: 'pxe', label: 'PXE', t: 1300, line: 'iPXE 1.21.1+' },
        { stage: 'kernel', label: 'kernel', t: 4800, line: 'Linux version 6.1.0-18-amd64' },
      ],
    },
  ],
};

describe('renderHtmlReport', () => {
  const html = renderHtmlReport(RUN);

  it('is one self-contained page: no script, nothing fetched', () => {
    expect(html.startsWith('<!doctype html>')).to.equal(true);
    expect(html).not.to.match(/<script|<link|<img|<iframe|@import|\ssrc=/i);
    // The only absolute URL is the SVG namespace, which is never fetched.
    expect(html.match(/https?:\/\/[^"]*/g) ?? []).to.satisfy((urls: string[]) => urls.every((u) => u === 'http://www.w3.org/2000/svg'));
    expect(html.match(/url\([^)]*\)/g) ?? []).to.satisfy((urls: string[]) => urls.every((u) => u.startsWith('url(#')));
  });

  it('escapes text from the run, console lines and errors above all', () => {
    expect(html).to.contain('ltsp-client login: &lt;&amp;&gt; &quot;quoted&quot;');
    expect(html).not.to.contain('<&>');
    expect(html).to.contain('<title>Two clients &lt;boot&gt; &amp; one fails · run-20240501-1200-ab12</title>');
    expect(html).to.contain('host speed factor 12 (TCG) &amp; KVM off');
    expect(html).not.to.contain('<connect failed>');
  });

  it('shows the header: run id, title, times and duration', () => {
    expect(html).to.contain('<code>run-20240501-1200-ab12</code>');
    expect(html).to.contain('2024-05-01T12:00:00.000Z');
    expect(html).to.contain('2024-05-01T12:01:05.500Z (65.5 s)');
    expect(html).to.contain('1 booted, 1 failed');
  });

  it('draws a timeline per client with stage labels, seconds and a scale', () => {
    expect(html.match(/<svg class="timeline"/g)).to.have.length(2);
    for (const label of ['PXE 1.2s', 'kernel 4.6s', 'NBD root 9.9s', 'login 15.0s', 'PXE 1.3s', 'kernel 4.8s']) {
      expect(html).to.contain(`>${label}</text>`);
    }
    // 15 s of boot on a shared scale in steps of 2 s: 0 s .. 16 s.
    expect(html).to.contain('>0 s</text>');
    expect(html).to.contain('>16 s</text>');
    expect(html).not.to.contain('>18 s</text>');
  });

  it('marks the failed client and shows its error in a <pre>', () => {
    expect(html).to.contain('<section class="client failed" id="client-c2">');
    expect(html).to.contain('<span class="badge fail">FAILED at nbd-root</span>');
    expect(html).to.contain('>✗ FAILED at nbd-root</text>');
    expect(html).to.contain('<pre class="error">timed out after 30.0 s waiting for /nbd0: detected/\n--- last 1 console lines ---\n' +
      '[ 5.0] nbd: &lt;connect failed&gt; &amp; retrying</pre>');
    expect(html).to.contain('<section class="client" id="client-c1">');
    expect(html.match(/<pre class="error">/g)).to.have.length(1);
    // Its stage lines are open; the healthy client's stay folded.
    expect(html.match(/<details open>/g)).to.have.length(1);
  });

  it('tabulates stage times, with "-" for stages not reached and the failed stage marked', () => {
    const table = html.slice(html.indexOf('<h2>Stage times</h2>'));
    expect(table).to.contain('<th class="num">c1</th><th class="num">c2</th>');
    expect(table).to.match(/<tr><th>kernel<\/th><td class="num"[^>]*>4\.6 s <small>\(\+3\.3\)<\/small><\/td><td class="num"[^>]*>4\.8 s <small>\(\+3\.5\)<\/small><\/td><\/tr>/);
    expect(table).to.match(/<tr><th>NBD root<\/th><td class="num"[^>]*>9\.9 s[^\n]*<td class="failed">✗ FAILED<\/td><\/tr>/);
    expect(table).to.match(/<tr><th>login<\/th><td class="num"[^>]*>15\.0 s[^\n]*<td class="missing">-<\/td><\/tr>/);
  });

  it('links the logs by relative path, encoded so no path becomes a scheme', () => {
    expect(html).to.contain('<a href="c1/console.log">console log</a>');
    expect(html).to.contain('<a href="c1/qmp.log">QMP log</a>');
    expect(html).to.contain('<a href="server/server.log">server log</a>');
    expect(html).to.contain('<a href="c2%20logs/console%20%231.log">console log</a>');
    expect(html).to.contain('<a href="./javascript:alert(1)">QMP log</a>');
  });

  it('renders a run without clients', () => {
    const empty = renderHtmlReport({ runId: 'r0', title: 'nothing', startedAt: '2024-05-01T12:00:00Z', clients: [] });
    expect(empty).to.contain('No clients in this run.');
    expect(empty).to.contain('not finished');
  });
});

describe('writeHtmlReport', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab-report-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes index.html and run.json, creating the folder', async () => {
    const out = join(dir, 'run-1', 'suite');
    const path = await writeHtmlReport(out, RUN);
    expect(path).to.equal(join(out, 'index.html'));
    expect(readFileSync(path, 'utf8')).to.equal(renderHtmlReport(RUN));
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).to.deep.equal(RUN);
  });
});
