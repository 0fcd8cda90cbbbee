/** Calls the Worker entry directly with a modified env (configuration variants, fault injection). */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";

/** The test env with overrides; each call returns a new object, so configuration is validated afresh. */
export function envWith(overrides: Record<string, unknown>): Env {
  return { ...env, ...overrides } as Env;
}

/** Sends a request through the Worker's fetch handler with a custom env. */
export async function callWith(customEnv: Env, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://gateway.test${path}`, init), customEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
