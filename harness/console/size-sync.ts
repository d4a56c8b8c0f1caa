/**
 * A serial line carries no window size (no TIOCSWINSZ across it, and QEMU's serial port
 * has no resize message), so the guest's ttyS0 believes it is 80x24 (or 0x0) until told.
 * `./lab attach` tells it by typing `stty rows R cols C` at the guest's shell, which is
 * only safe at an idle shell prompt: typed into a full-screen program (vi, less) it
 * would be keys for that program, and typed after a person's half-written line it would
 * join that line. So the size is typed when the console's last line is a shell prompt,
 * nothing was typed since it appeared, and the console has been quiet a moment
 * (QUIET_MS: output arrives a few bytes at a time, so a line can look like a prompt at
 * a chunk's end, "... # " of a longer line; and a kernel message can follow a prompt on
 * its line, see SHELL_PROMPT); otherwise it waits for the next such prompt. The last attach to resize sets the size of the one tty everyone shares.
 */

/** How long the console must be quiet after a prompt before the size is typed at it. */
export const QUIET_MS = 500;

/** A shell prompt at the end of the console: "root@c1:~# ", "dracut:/# ", "sh-5.2$ ", "# ". */
export const IDLE_PROMPT = /^[\w.@:~/+-]*[#$] $/;

// CSI and OSC sequences, other two-byte escapes, and the controls a prompt line may carry.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x07\x0b\x0c\x0e-\x1f\x7f]/g;

export interface TermSize {
  rows: number;
  cols: number;
}

/** The command that gives the guest's tty this size. */
export function sttyCommand(size: TermSize): string {
  return `stty rows ${size.rows} cols ${size.cols}\r`;
}

/** The guest's answer when it has no stty: dracut's initramfs has none, so its emergency shell keeps its size. */
const NO_STTY = /stty: (command )?not found/;

export class SizeSync {
  private wanted?: TermSize;
  private noStty = false;
  private line = '';
  private idle = false;
  private quiet = false;

  /** The terminal has this size (on attach, and on each SIGWINCH). Returns what to type now, if anything. */
  resized(size: TermSize): string | undefined {
    if (this.noStty) return undefined;
    this.wanted = size;
    return this.typeIfIdle();
  }

  /** The console printed `text`; call settled() once it has been quiet for QUIET_MS. */
  output(text: string): void {
    // The last line raw, escapes and all: a serial console hands its output over a few
    // bytes at a time, so an escape sequence (bash's "\x1b[?2004h" before its prompt) can
    // be split between chunks, and is only recognised whole.
    if (NO_STTY.test(text)) {
      // Said once, by the guest itself; typing it again at each resize would only repeat it.
      this.noStty = true;
      this.wanted = undefined;
    }
    this.line += text;
    const cut = Math.max(this.line.lastIndexOf('\n'), this.line.lastIndexOf('\r'));
    if (cut >= 0) this.line = this.line.slice(cut + 1);
    if (this.line.length > 1024) this.line = this.line.slice(-1024);
    this.idle = IDLE_PROMPT.test(this.line.replace(ESCAPES, ''));
    this.quiet = false;
  }

  /** The console printed nothing for QUIET_MS. Returns what to type now, if anything. */
  settled(): string | undefined {
    this.quiet = true;
    return this.typeIfIdle();
  }

  /** The person typed: the prompt is not idle until the shell prints the next one. */
  typed(bytes: Buffer): void {
    if (bytes.length > 0) this.idle = false;
  }

  /** A size is waiting for an idle prompt. */
  get pending(): boolean {
    return this.wanted !== undefined;
  }

  private typeIfIdle(): string | undefined {
    if (!this.idle || !this.quiet || !this.wanted) return undefined;
    const cmd = sttyCommand(this.wanted);
    this.wanted = undefined;
    this.idle = false;
    return cmd;
  }
}
