/** Ctrl-]: the escape byte of telnet and virsh console, which a shell hardly needs. */
export const DETACH_ESCAPE = 0x1d;
/** What follows the escape to detach. */
export const DETACH_KEY = 'q';
/** How an attach names its detach key to a person. */
export const DETACH_HINT = `Ctrl-] ${DETACH_KEY} detaches (Ctrl-] Ctrl-] sends Ctrl-], Ctrl-] ? shows this)`;

export interface KeyResult {
  /** Bytes for the console. */
  forward: Buffer;
  /** The person asked to detach: nothing after the key is forwarded. */
  detach: boolean;
  /** The person asked what the keys are. */
  help: boolean;
}

/**
 * The detach key of `./lab attach`: Ctrl-] arms it, then `q` detaches, Ctrl-] sends one
 * Ctrl-], `?` asks for help, and any other key is sent after the Ctrl-] it followed. Fed
 * raw keyboard bytes in whatever chunks the terminal delivers them (an escape at the end
 * of one chunk and its key at the start of the next).
 */
export class DetachKey {
  private armed = false;

  feed(chunk: Buffer): KeyResult {
    const out: number[] = [];
    let help = false;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (!this.armed) {
        if (b === DETACH_ESCAPE) this.armed = true;
        else out.push(b);
        continue;
      }
      this.armed = false;
      if (b === DETACH_KEY.charCodeAt(0)) return { forward: Buffer.from(out), detach: true, help };
      if (b === DETACH_ESCAPE) out.push(DETACH_ESCAPE);
      else if (b === 0x3f) help = true;
      else out.push(DETACH_ESCAPE, b);
    }
    return { forward: Buffer.from(out), detach: false, help };
  }

  /** An escape typed and waiting for its key. */
  get pending(): boolean {
    return this.armed;
  }
}
