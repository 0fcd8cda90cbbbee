/**
 * Deadlines checked in injected time, not on the wall clock. `settlesAfter` runs a call with setTimeout
 * and clearTimeout replaced by a hand-driven stand-in (I/O still runs for real): a timer fires only when the
 * test fires it. The call waits on stand-ins that never answer (./silent-bindings.ts), so it can only go
 * on when the gateway's own timer fires: "held, with a timer of exactly `ms` armed; moves once that timer
 * fires" proves which deadline it used, however slow or busy the machine.
 */
import { afterEach, expect } from "vitest";

interface Armed {
  ms: number;
  run: () => void;
  state: "armed" | "cleared" | "fired";
}

// The real timers, taken before any test replaces them (polling below must use them).
const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
const tick = () => new Promise<void>((resolve) => real.setTimeout(resolve, 1));

function restore(): void {
  globalThis.setTimeout = real.setTimeout;
  globalThis.clearTimeout = real.clearTimeout;
}

// A test that times out mid-call never reaches settlesAfter's `finally`: the next test must get real timers.
afterEach(restore);

/** Polls (on real time, at most `tries` ticks) until `ready` holds. */
async function until(ready: () => boolean, what: () => string, tries = 2_000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (ready()) return;
    await tick();
  }
  throw new Error(`gave up waiting for ${what()}`);
}

/** Replaces setTimeout/clearTimeout with timers that only `fire` runs; returns the list they are armed into. */
function handDrivenTimers(): Armed[] {
  const armed: Armed[] = [];
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const timer: Armed = { ms: ms ?? 0, run: () => fn(...args), state: "armed" };
    armed.push(timer);
    return timer;
  }) as unknown as typeof setTimeout;
  globalThis.clearTimeout = ((t: unknown) => {
    if (armed.includes(t as Armed)) (t as Armed).state = "cleared";
    else real.clearTimeout(t as number);
  }) as typeof clearTimeout;
  return armed;
}

/**
 * Starts `call` with hand-driven timers. For each deadline in `deadlinesMs` in turn: waits until the call
 * is held with a timer of exactly that many ms armed and not yet fired or cleared, checks the call has not
 * settled, and fires that timer (only that one). After the last, the call must settle; its result is
 * returned. Real timers are restored whatever happens.
 */
export async function settlesAfter<T>(deadlinesMs: number[], call: () => Promise<T>): Promise<T> {
  const armed = handDrivenTimers();
  try {
    let settled = false;
    const pending = call().finally(() => {
      settled = true;
    });
    for (const ms of deadlinesMs) {
      const due = () => armed.find((t) => t.state === "armed" && t.ms === ms);
      await until(() => due() !== undefined || settled, () => `a ${ms} ms deadline (timers: ${armed.map((t) => `${t.ms} ms ${t.state}`).join(", ")})`);
      expect(settled, `settled before its ${ms} ms deadline fired`).toBe(false);
      const timer = due() as Armed;
      timer.state = "fired";
      timer.run();
    }
    await until(() => settled, () => "the call to settle after its last deadline");
    return await pending;
  } finally {
    restore();
  }
}
