/**
 * Deadline tests without sleeping or wall-clock bounds. The Worker's `setTimeout`/`clearTimeout` are
 * replaced by timers only the test fires (I/O still runs for real), and the request waits on a stand-in
 * that never answers (./silent-bindings.ts), so it can only go on when the gateway's own timer fires. For
 * each deadline in turn the test waits until the request is held (the stand-in was asked: the deadline's
 * timer is set in the same step), checks that the timer set last is exactly that long and the request has
 * not been answered, and fires that timer only. A deadline of another length fails with the timers listed.
 */
import { expect } from "vitest";
import { until } from "./gateway";
import { unansweredCalls } from "./silent-bindings";

interface Timer {
  ms: number;
  run: () => void;
  state: "armed" | "cleared" | "fired";
}

// The runtime's timers, taken before any test replaces them.
const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };

function restore(): void {
  globalThis.setTimeout = real.setTimeout;
  globalThis.clearTimeout = real.clearTimeout;
}

/** Replaces setTimeout/clearTimeout with timers that run only when the test fires them; returns them, in arming order. */
function handDrivenTimers(): Timer[] {
  const timers: Timer[] = [];
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const timer: Timer = { ms: ms ?? 0, run: () => fn(...args), state: "armed" };
    timers.push(timer);
    return timer;
  }) as unknown as typeof setTimeout;
  globalThis.clearTimeout = ((t: unknown) => {
    if (timers.includes(t as Timer)) (t as Timer).state = "cleared";
    else real.clearTimeout(t as number);
  }) as typeof clearTimeout;
  return timers;
}

/**
 * Runs `call` and returns its result, checking it waited on exactly the deadlines `deadlinesMs`, in turn.
 * `held(i)` says the request is waiting at stage `i`; by default, once one more call than before that stage
 * has been left unanswered by a stand-in. After the last deadline the call finishes its real I/O.
 */
export async function answeredAfter<T>(deadlinesMs: number[], call: () => Promise<T>, held?: (stage: number) => boolean | Promise<boolean>): Promise<T> {
  const timers = handDrivenTimers();
  try {
    const before = unansweredCalls();
    const isHeld = held ?? ((stage: number) => unansweredCalls() > before + stage);
    let settled = false;
    const pending = call().finally(() => {
      settled = true;
    });
    for (const [stage, ms] of deadlinesMs.entries()) {
      await until(async () => settled || (await isHeld(stage)));
      expect(settled, `answered before waiting on its ${ms} ms deadline`).toBe(false);
      const last = timers.filter((t) => t.state === "armed").at(-1);
      expect(last?.ms, `the timer set last (timers: ${timers.map((t) => `${t.ms} ms ${t.state}`).join(", ")})`).toBe(ms);
      (last as Timer).state = "fired";
      (last as Timer).run();
    }
    return await pending;
  } finally {
    restore();
  }
}

/** One deadline of `ms`: the request is held once `waiting()` holds. */
export function answeredAt(ms: number, waiting: () => boolean, send: () => Promise<Response>): Promise<Response> {
  return answeredAfter([ms], send, () => waiting());
}
