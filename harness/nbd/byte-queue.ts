/** Why a read on a ByteQueue can never complete: the stream ended or was torn down. */
export class StreamEnded extends Error {
  /** The socket error that ended the stream, if any, e.g. 'ECONNRESET'. */
  readonly code?: string;

  constructor(message: string, code?: string) {
    super(message);
    this.name = 'StreamEnded';
    if (code !== undefined) this.code = code;
  }
}

interface Want {
  n: number;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

/**
 * Turns a socket's chunks into exact-length reads, which is how every NBD message is
 * framed. One read at a time; the NBD peer never has two in flight.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private size = 0;
  private want?: Want;
  private ended?: StreamEnded;

  push(chunk: Buffer): void {
    if (this.ended) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.pump();
  }

  /** No more data will come; a pending or later read that the buffer cannot satisfy rejects with `why`. */
  end(why: StreamEnded): void {
    if (this.ended) return;
    this.ended = why;
    this.pump();
  }

  get buffered(): number {
    return this.size;
  }

  /** Resolves with exactly `n` bytes. */
  read(n: number): Promise<Buffer> {
    if (this.want) return Promise.reject(new Error('ByteQueue: concurrent reads'));
    return new Promise<Buffer>((resolve, reject) => {
      this.want = { n, resolve, reject };
      this.pump();
    });
  }

  private pump(): void {
    const w = this.want;
    if (!w) return;
    if (this.size >= w.n) {
      this.want = undefined;
      w.resolve(this.take(w.n));
    } else if (this.ended) {
      this.want = undefined;
      w.reject(this.ended);
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    return all.subarray(0, n);
  }
}
