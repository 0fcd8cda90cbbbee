/** The Worker's log lines, as tests read them. */
import { vi } from "vitest";

/** Captures every console line the Worker writes while `fn` runs (console.log, .warn and .error). */
export async function captureLogs(fn: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const record = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  const spies = [vi.spyOn(console, "log").mockImplementation(record), vi.spyOn(console, "error").mockImplementation(record), vi.spyOn(console, "warn").mockImplementation(record)];
  try {
    await fn();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines;
}

/** The one `"msg":"request"` line for a request id, parsed; fails unless there is exactly one. */
export function requestLine(lines: string[], requestId: string): Record<string, unknown> {
  const mine = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.msg === "request" && e.requestId === requestId);
  if (mine.length !== 1) throw new Error(`expected one request line for ${requestId}, found ${mine.length}`);
  return mine[0] as Record<string, unknown>;
}
