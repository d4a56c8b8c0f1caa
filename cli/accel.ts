import { budgetMs, buildImages, chooseAccel, clientImages, DEFAULT_CLIENT_SPEC, hostSpeed, stepDeadline } from '../harness/index';
import { parseOptions } from './args';

/**
 * ./lab accel [--json]: which accelerator the lab uses on this host and why, probing
 * KVM with the lab's own kernel when the verdict of this host boot is not cached yet.
 */
export async function accel(argv: string[]): Promise<number> {
  const o = parseOptions(argv, { json: 'flag' });
  const m = await buildImages({ deadline: stepDeadline(budgetMs('imageBuild'), 'image build (the probe boots its kernel)') });
  const t0 = performance.now();
  // The default client kind's kernel, as a lab's probe boots it.
  const own = clientImages(m, DEFAULT_CLIENT_SPEC.kind);
  const d = await chooseAccel({ kernel: own.kernel, initrd: own.initrd, deadline: stepDeadline(budgetMs('accelProbe'), 'choose the accelerator') });
  const ms = Math.round(performance.now() - t0);
  const speed = hostSpeed(d);
  if (o.has('json')) {
    process.stdout.write(JSON.stringify({ ...d, decisionMs: ms, speedFactor: speed.factor, cores: speed.cores }, null, 2) + '\n');
  } else {
    process.stdout.write(`${d.reason}\n`);
    if (!d.cached) for (const p of d.probes) process.stdout.write(`  probe ${p.accel}: ${p.ok ? 'reached /init' : p.failure} (${(p.ms / 1000).toFixed(1)} s)\n`);
    process.stdout.write(`  decided in ${(ms / 1000).toFixed(1)} s; ${speed.cores} cores, speed factor ${speed.factor}\n`);
  }
  return 0;
}
