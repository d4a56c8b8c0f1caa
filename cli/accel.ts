import { budgetMs, buildImages, chooseAccel, clientImages, DEFAULT_CLIENT_SPEC, hostSpeed, stepDeadline } from '../harness/index';
import { parseCommand, type CommandSpec } from './args';

export const ACCEL_COMMAND: CommandSpec = {
  name: './lab accel',
  description: "Which accelerator the lab uses on this host (KVM or TCG) and why, probing KVM with the lab's own kernel when this host boot's verdict is not cached yet.",
  options: { json: { kind: 'flag', help: 'the decision as JSON on stdout' } },
};

/** ./lab accel: see ACCEL_COMMAND. */
export async function accel(argv: string[]): Promise<number> {
  const o = parseCommand(argv, ACCEL_COMMAND).options;
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
