/**
 * The product timeout as one object: started when the request body has been handed over (or when the
 * answer arrives, whichever comes first), it bounds the wait for response headers and every read of the
 * product's body the gateway makes itself. On expiry it aborts the controller it was given: the upstream
 * fetch's own, so the timer needs no signal and listener of its own (an `addEventListener` costs more than
 * the timer itself, callgrind, issue 21).
 */
export class Deadline {
  readonly ms: number;
  readonly #controller: AbortController;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #cleared = false;
  #expired = false;

  /** `controller`: aborted when the deadline expires (never when it is cleared); by default one of its own. */
  constructor(ms: number, controller = new AbortController()) {
    this.ms = ms;
    this.#controller = controller;
  }

  /** Aborted when the deadline expires, or when anything else aborts the controller it was given. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The deadline itself expired (not another abort of its controller). */
  get expired(): boolean {
    return this.#expired;
  }

  /** Starts the clock; later calls change nothing, so either trigger may come first. */
  start(): void {
    if (this.#timer !== null || this.#cleared) return;
    this.#timer = setTimeout(() => {
      this.#expired = true;
      this.#controller.abort();
    }, this.ms);
  }

  /** Stops the clock for good: the gateway has read all it will read from the product. */
  clear(): void {
    this.#cleared = true;
    clearTimeout(this.#timer);
  }
}
