import { closeSync, constants, openSync, statSync } from 'node:fs';

/** /dev/kvm, or LTSP_LAB_KVM_DEVICE (a test points it at a device that behaves otherwise). */
export function kvmDevicePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.LTSP_LAB_KVM_DEVICE || '/dev/kvm';
}

export type KvmDevice =
  | { state: 'missing'; path: string }
  /** It exists, but this process cannot use it: not a character device, or open(2) fails. */
  | { state: 'unusable'; path: string; why: string }
  /** It opens; only a probe tells whether a guest runs on it. `identity` changes when the device is re-created. */
  | { state: 'present'; path: string; identity: string };

/**
 * What the device file says, and no more: a present /dev/kvm can still be unable to run
 * a stock guest (kvm_pvm, nested KVM without EPT), which is why the lab probes.
 */
export function inspectKvmDevice(path: string): KvmDevice {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { state: 'missing', path } : { state: 'unusable', path, why: `stat: ${code ?? String(e)}` };
  }
  if (!st.isCharacterDevice()) return { state: 'unusable', path, why: 'not a character device' };
  try {
    // QEMU opens it O_RDWR (kvm_init, accel/kvm/kvm-all.c); so must we.
    closeSync(openSync(path, constants.O_RDWR));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { state: 'unusable', path, why: `open: ${err.code ?? err.message}` };
  }
  return { state: 'present', path, identity: `${st.rdev}:${st.ino}:${Math.round(st.ctimeMs)}` };
}
