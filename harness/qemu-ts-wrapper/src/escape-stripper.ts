/**
 * Strips a terminal's output to its text: ANSI/ECMA-48 escape sequences (CSI, OSC, DCS
 * and the other strings), \r, backspaces, NULs and the other controls go; text and
 * newlines are handed to the sink. A sequence that runs on too long is given back as text.
 */

/** Where stripped output goes. */
export interface TextSink {
  text(s: string): void;
  newline(): void;
}

enum Esc {
  None,
  Esc,
  EscInter,
  Csi,
  Str,
  StrEsc,
}

// Everything the text fast path must stop at: C0 controls except \t, DEL, C1 controls.
// eslint-disable-next-line no-control-regex
const SPECIAL = /[\x00-\x08\x0a-\x1f\x7f\x80-\x9f]/g;
// A sequence this long is garbage, not an escape; give the text back.
const MAX_ESCAPE_LENGTH = 1024;

export class EscapeStripper {
  private esc = Esc.None;
  private escLength = 0;

  constructor(private readonly sink: TextSink) {}

  /** Forgets a sequence left open at the end of the input. */
  reset(): void {
    this.esc = Esc.None;
  }

  feed(s: string): void {
    const n = s.length;
    let i = 0;
    while (i < n) {
      if (this.esc !== Esc.None) {
        if (!this.escape(s.charCodeAt(i))) i++;
        continue;
      }
      SPECIAL.lastIndex = i;
      const m = SPECIAL.exec(s);
      const j = m ? m.index : n;
      if (j > i) this.sink.text(s.slice(i, j));
      if (!m) break;
      i = j + 1;
      switch (s.charCodeAt(j)) {
        case 0x0a:
          this.sink.newline();
          break;
        case 0x1b:
          this.esc = Esc.Esc;
          this.escLength = 0;
          break;
        case 0x9b:
          this.esc = Esc.Csi;
          this.escLength = 0;
          break;
        case 0x90: // DCS
        case 0x9d: // OSC
        case 0x9e: // PM
        case 0x9f: // APC
          this.esc = Esc.Str;
          this.escLength = 0;
          break;
        default:
          // \r, \b, NUL, BEL and the other controls carry no text.
          break;
      }
    }
  }

  /**
   * One character inside an escape sequence (ECMA-48 sections 5.3-5.6). Returns true if
   * the character ended the sequence without belonging to it and must be read as text.
   */
  private escape(c: number): boolean {
    if (++this.escLength > MAX_ESCAPE_LENGTH) {
      this.esc = Esc.None;
      return true;
    }
    switch (this.esc) {
      case Esc.Esc:
        if (c === 0x5b /* [ */) this.esc = Esc.Csi;
        else if (c === 0x5d /* ] */ || c === 0x50 /* P */ || c === 0x58 /* X */ || c === 0x5e /* ^ */ || c === 0x5f /* _ */) {
          this.esc = Esc.Str;
        } else if (c >= 0x20 && c <= 0x2f) this.esc = Esc.EscInter;
        else if (c === 0x1b) this.escLength = 0;
        else if (c >= 0x30 && c <= 0x7e) this.esc = Esc.None;
        else return this.abortEscape();
        return false;
      case Esc.EscInter:
        if (c >= 0x20 && c <= 0x2f) return false;
        if (c >= 0x30 && c <= 0x7e) {
          this.esc = Esc.None;
          return false;
        }
        return this.abortEscape();
      case Esc.Csi:
        if (c >= 0x20 && c <= 0x3f) return false;
        if (c >= 0x40 && c <= 0x7e) {
          this.esc = Esc.None;
          return false;
        }
        return this.abortEscape();
      case Esc.Str:
        if (c === 0x07 || c === 0x9c) this.esc = Esc.None;
        else if (c === 0x1b) this.esc = Esc.StrEsc;
        else if (c === 0x0a) return this.abortEscape();
        return false;
      case Esc.StrEsc:
        if (c === 0x5c /* \ */) {
          this.esc = Esc.None;
          return false;
        }
        // Any other ESC sequence also ends the string; read c as its second byte.
        this.esc = Esc.Esc;
        this.escLength = 0;
        return true;
      case Esc.None:
        return true;
    }
  }

  private abortEscape(): boolean {
    this.esc = Esc.None;
    return true;
  }
}
