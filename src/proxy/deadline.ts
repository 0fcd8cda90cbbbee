/**
 * The product timeout as one object: started when the request body has been handed over (or when the
 * answer arrives, whichever comes first), it bounds the wait for response headers and every read of the
 * product's body the gateway makes itself. Its signal aborts the upstream fetch on expiry.
 */
export class Deadline {
  readonly ms: number;
  readonly #controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #cleared = false;

  constructor(ms: number) {
    this.ms = ms;
  }

  /** Aborted when the deadline expires (never when it is cleared). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get expired(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Starts the clock; later calls change nothing, so either trigger may come first. */
  start(): void {
    if (this.#timer !== null || this.#cleared) return;
    this.#timer = setTimeout(() => this.#controller.abort(), this.ms);
  }

  /** Stops the clock for good: the gateway has read all it will read from the product. */
  clear(): void {
    this.#cleared = true;
    clearTimeout(this.#timer);
  }
}
