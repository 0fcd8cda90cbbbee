/**
 * One timer for a sequence of bounded waits. An upload waits on the client, then on the product, then on the
 * client again, once per chunk; a timer (and a promise race) per wait cost more than the wait's own work.
 * Each wait only records what it waits on and since when; one timer, armed at most `shortest` ahead, looks
 * at the wait in progress when it fires and re-arms for what is left of it. A wait that ends before its
 * bound never touches the timer, and no wait outlasts its bound by more than the re-arm's own slack.
 */
export interface WatchdogClock {
  now: () => number;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const runtimeClock: WatchdogClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class IdleWatchdog<Phase extends string> {
  readonly #bounds: Readonly<Record<Phase, number>>;
  readonly #onIdle: (phase: Phase) => void;
  readonly #clock: WatchdogClock;
  /** The timer never sleeps longer than the shortest bound, so a wait that starts later is never checked late. */
  readonly #shortest: number;
  #waiting: Phase | null = null;
  #since = 0;
  #timer: unknown = null;
  #stopped = false;

  /** `bounds`: the longest each kind of wait may last; `onIdle` is told which one ran out (once; the watchdog then stops). */
  constructor(bounds: Readonly<Record<Phase, number>>, onIdle: (phase: Phase) => void, clock: WatchdogClock = runtimeClock) {
    this.#bounds = bounds;
    this.#onIdle = onIdle;
    this.#clock = clock;
    this.#shortest = Math.min(...(Object.values(bounds) as number[]));
  }

  /** A wait on `phase` starts now (ending whatever wait was in progress). */
  wait(phase: Phase): void {
    if (this.#stopped) return;
    this.#waiting = phase;
    this.#since = this.#clock.now();
    if (this.#timer === null) this.#arm(this.#shortest);
  }

  /** No wait is in progress: nothing is checked until the next `wait`. */
  pause(): void {
    this.#waiting = null;
  }

  /** Stops for good: the timer is cleared and later waits are not checked. */
  stop(): void {
    this.#stopped = true;
    this.#waiting = null;
    this.#clock.clearTimeout(this.#timer);
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => this.#check(), ms);
  }

  #check(): void {
    this.#timer = null;
    const phase = this.#waiting;
    if (phase === null) return;
    const left = this.#since + this.#bounds[phase] - this.#clock.now();
    if (left > 0) return this.#arm(Math.min(left, this.#shortest));
    this.stop();
    this.#onIdle(phase);
  }
}
