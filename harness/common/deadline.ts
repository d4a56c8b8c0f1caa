// The lab's deadlines are qemu-ts-wrapper's: one clock for QEMU's waits and the lab's.
export { Deadline } from '../qemu-ts-wrapper';
