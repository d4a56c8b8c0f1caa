import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How a fake QEMU behaves under one accelerator: `pass` reaches /init after `delayS`,
 * `hang` stops after "Probing EDD" (kvm_pvm's symptom), `exit` dies at start the way
 * QEMU does without a usable KVM, `panic` panics before /init.
 */
export type FakeBehaviour = { kind: 'pass'; delayS?: number } | { kind: 'hang' } | { kind: 'exit' } | { kind: 'panic' };

function script(b: FakeBehaviour): string {
  switch (b.kind) {
    case 'pass':
      return `sleep ${b.delayS ?? 0}; echo 'Linux version 6.1.0-28-amd64 (fake)'; echo 'Run /init as init process'; exec sleep 60`;
    case 'hang':
      // The kernel's real-mode setup prints this before it decompresses and says "Linux version".
      return `echo 'Probing EDD (edd=off to disable)... ok'; exec sleep 60`;
    case 'exit':
      return `echo 'Could not access KVM kernel module: No such device' >&2; echo 'qemu-system-x86_64: failed to initialize kvm: No such device' >&2; exit 1`;
    case 'panic':
      return `echo 'Linux version 6.1.0-28-amd64 (fake)'; echo 'Kernel panic - not syncing: VFS: Unable to mount root fs'; exec sleep 60`;
  }
}

/**
 * Writes an executable fake qemu-system-x86_64 into `dir` that behaves per accelerator
 * (the accelerator is read from its -accel argument) and appends each argv to
 * `<dir>/argv.log`, one line per run. For the probe's tests only: no real guest.
 */
export function writeFakeQemu(dir: string, kvm: FakeBehaviour, tcg: FakeBehaviour = { kind: 'pass' }): string {
  const path = join(dir, 'fake-qemu');
  writeFileSync(
    path,
    `#!/bin/bash
# A fake QEMU for the accelerator probe's tests.
printf '%s\\n' "$*" >> "${join(dir, 'argv.log')}"
accel=tcg
prev=
for a in "$@"; do
  if [ "$prev" = -accel ]; then accel=\${a%%,*}; fi
  prev=$a
done
if [ "$accel" = kvm ]; then
  ${script(kvm)}
else
  ${script(tcg)}
fi
`,
  );
  chmodSync(path, 0o755);
  return path;
}
