import { expect } from 'chai';
import { layoutLanes, renderHtmlReport, type StageConsoles } from './html-report';
import { twoClientRun } from '../results/results-fixture';
import { clientSpec } from '../client/client-spec';
import type { ClientResult } from '../results/types';

describe('renderHtmlReport', () => {
  const run = twoClientRun();
  const consoles: StageConsoles = {
    '0/c1/nbd': { lines: ['[ 5.0] nbd: <connect> & go', 'nbd0: detected capacity change from 0 to 2097152'], omitted: 3 },
    '0/c2/!fail': { lines: ['nbd: connect failed'], omitted: 0, endMs: 12_000 },
  };
  const html = renderHtmlReport(run, consoles);

  it('is one self-contained page: inline style and script, nothing fetched', () => {
    expect(html.startsWith('<!doctype html>')).to.equal(true);
    expect(html).not.to.match(/<link|<img|<iframe|@import|\ssrc=/i);
    expect(html.match(/https?:\/\/[^"]*/g) ?? []).to.satisfy((urls: string[]) => urls.every((u) => u === 'http://www.w3.org/2000/svg'));
    expect(html.match(/url\([^)]*\)/g) ?? []).to.satisfy((urls: string[]) => urls.every((u) => u.startsWith('url(#')));
  });

  it('escapes text from the run, and console data cannot end its <script>', () => {
    expect(html).to.contain('<title>./lab boot --clients 2 &lt;x&gt; · boot-abc123</title>');
    expect(html).not.to.contain('<connect>');
    const data = /<script type="application\/json" id="stage-consoles">([^<]*)<\/script>/.exec(html)?.[1];
    expect(JSON.parse(data ?? 'null')).to.deep.equal(consoles);
  });

  it('shows the accelerator and why, speed factor, cores, load, kernel command line and the baseline', () => {
    expect(html).to.contain('<b>tcg</b>: no /dev/kvm');
    expect(html).to.contain('speed factor <b>1.2</b>');
    expect(html).to.contain('2 cores');
    expect(html).to.contain('<code class="cmdline">BOOT_IMAGE=vmlinuz root=nbd:10.0.0.1:root ip=10.0.0.101</code>');
    expect(html).to.contain('<code>fixtures/baselines/tcg-2cpu.json</code>, median of 5 runs');
  });

  it('draws one row per client, a segment per stage coloured by kind, with its duration', () => {
    const segs = [...html.matchAll(/<g class="seg" [^>]*data-key="0\/(c\d)\/([a-z!-]+)" data-stage="[^"]*" data-kind="(\w+)" data-ms="(\d+)"/g)];
    expect(segs.map((m) => `${m[1]}:${m[2]}:${m[3]}:${m[4]}`)).to.deep.equal([
      'c1:ipxe:firmware:400', 'c1:dhcp:network:2100', 'c1:kernel:kernel:3500', 'c1:nbd:nbd:17500', 'c1:login:userspace:22600',
      'c2:ipxe:firmware:500', 'c2:dhcp:network:2300',
    ]);
    // The failed client's last stage is marked and clickable for its lines.
    expect(html).to.match(/<g class="seg failed-stage" [^>]*data-key="0\/c2\/!fail" data-stage="kernel"/);
  });

  it('draws the baseline under each row', () => {
    expect(html.match(/<rect class="baseline" data-stage="nbd" data-ms="17000"/g)).to.have.length(2);
    expect(html).to.contain('>baseline 45.6 s</text>');
  });

  it('puts every outside label in a lane of its own where labels would meet', () => {
    const placed = layoutLanes([
      { text: 'iPXE start 0.4s', anchor: 120 },
      { text: 'kernel start 3.5s', anchor: 126 },
      { text: 'initramfs start 4.6s', anchor: 131 },
      { text: 'login prompt 22.6s', anchor: 700 },
    ]);
    for (const a of placed) {
      for (const b of placed) {
        if (a === b || a.lane !== b.lane) continue;
        expect(a.left + a.width <= b.left || b.left + b.width <= a.left, `${a.text} / ${b.text}`).to.equal(true);
      }
    }
    expect(placed.map((p) => p.lane)).to.deep.equal([0, 1, 2, 0]);
  });

  it('lists the tests of a test run with their outcomes, and renders a run without clients', () => {
    const t = renderHtmlReport({ ...run, kind: 'test', tests: [{ id: 's/t', title: 'a test', outcome: 'skipped', durationMs: 0, clients: [] }] });
    expect(t).to.contain('1 test: 0 passed, 0 failed, 1 skipped');
    expect(t).to.contain('No client booted in this run.');
  });

  it("draws each lab fault as a band on its client's row, red when the client did not come through, and lists it with its evidence", () => {
    const faulted = twoClientRun();
    const [c1, c2] = faulted.tests[0]!.clients;
    c1!.faults = [{ fault: 'link-down:10@login', outcome: 'recovered', appliedAt: 40_000, endedAt: 50_000, recoveryMs: 2_500, detail: 'works again', evidence: ['qmp: set_link c1 off'] }];
    c2!.faults = [{ fault: 'nbd-restart@nbd', outcome: 'failed', appliedAt: 9_000, detail: 'its boot failed', evidence: ['c2 [9.1] block nbd0: shutting down sockets'] }];
    const page = renderHtmlReport(faulted);
    const bands = [...page.matchAll(/<g class="fault" data-fault="([^"]+)" data-outcome="(\w[\w-]*)"><rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)];
    expect(bands.map((m) => `${m[1]} ${m[2]}`)).to.deep.equal(['link-down:10@login recovered', 'nbd-restart@nbd failed']);
    // A fault that ended spans its hold; a one-shot is a thin line.
    expect(Number(bands[0]![4])).to.be.above(Number(bands[1]![4]));
    expect(page).to.contain('⚡ link-down:10@login: recovered 2.5s');
    expect(page).to.match(/<text class="outside failed"[^>]*>⚡ nbd-restart@nbd: failed<\/text>/);
    expect(page).to.match(/<table class="faults">.*<code>nbd-restart@nbd<\/code><\/td><td>c2<\/td>.*block nbd0: shutting down sockets/s);
    expect(renderHtmlReport(twoClientRun())).not.to.contain('class="faults"');
  });
});

describe('renderHtmlReport: client kinds and the points inside the stages', () => {
  const run = twoClientRun();
  run.baseline = { ...run.baseline!, client: clientSpec({ kind: 'stock' }) };
  const [c1, c2] = run.tests[0]!.clients as [ClientResult, ClientResult];
  c1.boots = clientSpec({ kind: 'ltsp' });
  c1.kernelVersion = '6.1.158-ltsp-lab';
  c1.points = [{ point: 'link-up', label: 'link up (lab0)', stage: 'nbd', t: 8000, line: 'virtio_net virtio0 lab0: renamed from eth0' }];
  c2.boots = clientSpec({ kind: 'stock' });
  c2.kernelVersion = '6.1.0-50-amd64';
  const html = renderHtmlReport(run);

  it('names each client\'s kind and kernel, in its row and in the clients table', () => {
    expect(html).to.match(/<text class="client" [^>]*data-client="c1">c1 · ltsp<\/text>/);
    expect(html).to.match(/<text class="client" [^>]*data-client="c2">c2 · stock ✗<\/text>/);
    expect(html).to.contain('<td class="boots"><b>ltsp</b><br><small>kernel 6.1.158-ltsp-lab</small></td>');
    expect(html).to.contain('<td class="boots"><b>stock</b><br><small>kernel 6.1.0-50-amd64</small></td>');
  });

  it('marks each point on its client\'s bar, and lists it with its time into the stage', () => {
    expect(html).to.match(/<g class="point" data-point="link-up" data-stage="nbd" data-ms="8000"><line /);
    expect(html).to.contain('c1 · link up (lab0) at 8.0 s (+2.0 s into nbd)');
    expect(html).to.match(/<table class="points">.*<th>c1<\/th><td>NBD connected<\/td><td>link up \(lab0\)<\/td><td class="num">8\.0 s<\/td><td class="num">\+2\.0<\/td><td class="num">\+15\.5<\/td>/s);
  });

  it('a run without a baseline names the profile of its default kind (its first client\'s) and how to record it', () => {
    const none = renderHtmlReport({ ...run, baseline: undefined });
    expect(none).to.contain('none for profile <code>tcg-2cpu-ltsp</code>: ./lab baseline --update records one');
  });

  it('draws a baseline only under clients of its own kind', () => {
    // The stock baseline: under c2 (stock), not under c1 (ltsp).
    expect(html.match(/<rect class="baseline" data-stage="nbd"/g)).to.have.length(1);
    const c2Row = html.indexOf('data-client="c2"');
    expect(html.indexOf('<rect class="baseline"')).to.be.greaterThan(c2Row);
  });
});
