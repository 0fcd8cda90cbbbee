/**
 * The one timer an upload's waits share (src/proxy/idle-watchdog.ts): each kind of wait has its own bound,
 * a wait that ends in time never fires, and a wait that starts while the timer sleeps for a longer one is
 * still caught at its own bound. The clock is injected: time moves only when the test moves it.
 */
import { describe, expect, it } from "vitest";
import { IdleWatchdog, type WatchdogClock } from "../../src/proxy/idle-watchdog";

/** A manual clock: `advance` runs every timer that falls due, in order, at its own time. */
function manualClock() {
  let now = 0;
  let next = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: WatchdogClock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout: (handle) => void timers.delete(handle as number),
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      timers.delete(due[0]);
      now = due[1].at;
      due[1].fn();
    }
    now = until;
  };
  return { clock, advance, pending: () => timers.size, set: () => next - 1 };
}

function watch(bounds = { client: 1000, product: 300 }) {
  const m = manualClock();
  const fired: Array<{ phase: string; at: number }> = [];
  const dog = new IdleWatchdog(bounds, (phase) => fired.push({ phase, at: m.clock.now() }), m.clock);
  return { ...m, dog, fired };
}

describe("IdleWatchdog", () => {
  it("tells which wait ran out, at that wait's own bound", () => {
    const w = watch();
    w.dog.wait("client");
    w.advance(999);
    expect(w.fired).toEqual([]);
    w.advance(1);
    expect(w.fired).toEqual([{ phase: "client", at: 1000 }]);
  });

  it("never fires for waits that each end within their bound, however long they add up to", () => {
    const w = watch();
    for (let i = 0; i < 100; i++) {
      w.dog.wait("client");
      w.advance(900);
      w.dog.wait("product");
      w.advance(250);
    }
    expect(w.fired).toEqual([]);
    expect(w.pending()).toBe(1);
  });

  it("sets one timer for a burst of quick waits, not one per wait", () => {
    const w = watch();
    for (let i = 0; i < 100; i++) {
      w.dog.wait("client");
      w.advance(1);
      w.dog.wait("product");
      w.advance(1);
    }
    expect(w.set()).toBe(1);
    w.dog.stop();
    expect(w.pending()).toBe(0);
  });

  it("catches a short wait that starts while the timer sleeps for a long one", () => {
    const w = watch();
    w.dog.wait("client");
    w.advance(500);
    w.dog.wait("product");
    w.advance(300);
    expect(w.fired).toEqual([{ phase: "product", at: 800 }]);
  });

  it("counts a wait from its own start, not from the timer's", () => {
    const w = watch({ client: 1000, product: 1000 });
    w.dog.wait("client");
    w.advance(700);
    w.dog.wait("client");
    w.advance(999);
    expect(w.fired).toEqual([]);
    w.advance(1);
    expect(w.fired).toEqual([{ phase: "client", at: 1700 }]);
  });

  it("checks nothing while paused, and fires once only", () => {
    const w = watch();
    w.dog.wait("product");
    w.dog.pause();
    w.advance(10_000);
    expect(w.fired).toEqual([]);
    w.dog.wait("client");
    w.advance(1000);
    w.dog.wait("client");
    w.advance(5000);
    expect(w.fired).toEqual([{ phase: "client", at: 11_000 }]);
  });

  it("stops for good: its timer is cleared and later waits are not checked", () => {
    const w = watch();
    w.dog.wait("client");
    w.dog.stop();
    expect(w.pending()).toBe(0);
    w.dog.wait("product");
    w.advance(10_000);
    expect(w.fired).toEqual([]);
    expect(w.pending()).toBe(0);
  });
});
