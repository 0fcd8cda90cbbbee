/**
 * Deadline tests without sleeping or wall-clock bounds: the Worker's timers are faked, the request is
 * started, and once its deadline timer is set the test moves time to one millisecond short of it (still
 * waiting) and then to it (answered). A deadline other than `ms` fails the first or second step.
 */
import { expect, vi } from "vitest";
import { until } from "./gateway";

/**
 * Runs `send` (a request to a stand-in that never answers) and returns its answer, checking it came exactly
 * `ms` after `waiting()` turned true (the stand-in was asked; its deadline timer is set in the same step).
 */
export async function answeredAt(ms: number, waiting: () => boolean, send: () => Promise<Response>): Promise<Response> {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    let settled = false;
    const pending = send().finally(() => {
      settled = true;
    });
    await until(async () => waiting() || settled);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(ms - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
    return await pending;
  } finally {
    vi.useRealTimers();
  }
}
