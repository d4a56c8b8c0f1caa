import type { Deadline } from '../common/deadline';
import { ConsoleWaitError, SutError, UsageError } from '../common/errors';
import type { StartedQemuMachine } from '../qemu-ts-wrapper';
import { BOOT_FAIL_PATTERNS, SHELL_PROMPT } from './stages';

/** What a shell needs of a started machine (a StartedQemuMachine has it all). */
export type ShellMachine = Pick<StartedQemuMachine, 'console' | 'exited' | 'type'>;

export interface CommandResult {
  code: number;
  output: string;
}

/**
 * A shell at a client's serial console (ttyS0): one command at a time, its output
 * between markers, its exit code. Markers are printed by printf so the echoed command
 * line cannot match them. Root's (SHELL_PROMPT), or a logged-in user's (its prompt).
 */
export class SerialShell {
  private count = 0;
  /** A prompt was seen (awaitPrompt) and nothing was typed at it since. */
  private promptSeen = false;

  constructor(
    private readonly name: string,
    private readonly machine: ShellMachine,
    /** The console log file, named in a failure's hint. */
    private readonly consoleLogFile: string,
    private readonly prompt: RegExp = SHELL_PROMPT,
  ) {}

  /** Runs `command` at the prompt; a failure pattern under it (a panic, an oops) is a SutError. */
  async run(command: string, deadline: Deadline): Promise<CommandResult> {
    if (command.includes('\n')) throw new UsageError('one command line at a time');
    try {
      return await this.atPrompt(command, deadline);
    } catch (e) {
      // A failure pattern (a panic, an oops) is the stack failing under the command; a
      // wait that merely ran out stays the harness's ConsoleWaitError.
      if (e instanceof ConsoleWaitError && e.reason === 'failure-pattern') {
        throw new SutError(`${this.name} failed while running '${command}': ${e.message}`, { cause: e, hint: `console log: ${this.consoleLogFile}` });
      }
      throw e;
    }
  }

  /** Like run(), but a non-zero exit is a SutError carrying the output. */
  async check(command: string, deadline: Deadline): Promise<string> {
    const r = await this.run(command, deadline);
    if (r.code !== 0) throw new SutError(`'${command}' on ${this.name} exited ${r.code}:\n${r.output}`);
    return r.output;
  }

  /**
   * Waits for the shell's prompt (unless one was seen since it was last typed at) and
   * takes it: the caller types at it next. For whoever types at this console besides run()
   * (a login), so that a prompt is waited for once.
   */
  async claimPrompt(deadline: Deadline, before: string): Promise<void> {
    if (!this.promptSeen) await this.machine.console.waitFor(this.prompt, { deadline, failOn: BOOT_FAIL_PATTERNS, exited: this.machine.exited, what: `${this.name}: shell prompt before ${before}` });
    this.promptSeen = false;
  }

  /** The prompt was just seen by whoever waited for it (a login's wait for the session): the next command types at once. */
  promptShown(): void {
    this.promptSeen = true;
  }

  /** Waits for the shell's prompt and keeps it for the next command (something typed elsewhere has returned to this shell). */
  async awaitPrompt(deadline: Deadline, after: string): Promise<void> {
    await this.machine.console.waitFor(this.prompt, { deadline, failOn: BOOT_FAIL_PATTERNS, exited: this.machine.exited, what: `${this.name}: shell prompt after ${after}` });
    this.promptSeen = true;
  }

  private async atPrompt(command: string, deadline: Deadline): Promise<CommandResult> {
    const n = ++this.count;
    const console = this.machine.console;
    const exited = this.machine.exited;
    await this.claimPrompt(deadline, `'${command}'`);
    // The serial tty is 80 columns, and findmnt, ps & co. cut their lines to it.
    this.machine.type(`printf '=%s=\\n' LTSPBEGIN${n}; stty cols 512 2>/dev/null; export COLUMNS=512; ${command}; printf '\\n=%s=%d=\\n' LTSPEND${n} $?\n`);
    const begin = await console.waitFor(new RegExp(`^=LTSPBEGIN${n}=$`), { deadline, failOn: BOOT_FAIL_PATTERNS, exited, what: `${this.name}: start of '${command}'` });
    const end = await console.waitFor(new RegExp(`^=LTSPEND${n}=(\\d+)=$`), { deadline, failOn: BOOT_FAIL_PATTERNS, exited, what: `${this.name}: end of '${command}'` });
    const lines = console.lines().filter((l) => l.index > begin.line.index && l.index < end.line.index).map((l) => l.text);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return { code: Number(end.match[1]), output: lines.join('\n') };
  }
}
