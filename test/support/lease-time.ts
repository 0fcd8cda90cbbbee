/**
 * Injected time for the isolate's lease holders in workerd tests: their clock, and the timer a lease's end
 * waits on, both moved by the test (nothing waits for the lease's real life). Restore with `end()`.
 *
 * The timer polls the injected clock from the request that set it (every real millisecond) rather than being
 * resolved by the test: a promise made in one request's context cannot be settled from another's.
 */
import { setLeaseClock } from "../../src/ratelimit/admission";

export function leaseTime(startMs = Date.now()) {
  let now = startMs;
  let ended = false;
  setLeaseClock(
    () => now,
    (ms) => {
      const at = now + ms;
      return new Promise<void>((resolve) => {
        const tick = () => (ended || now >= at ? resolve() : setTimeout(tick, 1));
        tick();
      });
    },
  );
  return {
    now: () => now,
    /** Moves the clock on; timers now due fire (a lease's end: its report of unused permits goes out). */
    advance(ms: number): void {
      now += ms;
    },
    /** Restores the real clock and lets every timer still waiting fire, so no background work is left hanging. */
    end(): void {
      ended = true;
      setLeaseClock(null);
    },
  };
}
