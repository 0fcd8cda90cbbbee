/**
 * Deadline tests without sleeping or wall-clock bounds: the Worker's timers are faked, the request is
 * started, and once its deadline timer is set the test moves time to one millisecond short of it (still
 * waiting) and then to it (answered, or it goes on with real I/O only). A deadline shorter than `ms` fails
 * the first step; a longer one never fires, and the test times out.
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
    // Settles now, or after the request's remaining real I/O; a later deadline would never fire: a timeout.
    return await pending;
  } finally {
    vi.useRealTimers();
  }
}
