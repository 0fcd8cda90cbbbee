/**
 * Sends the request to the product backend: redirects are never followed (they pass back to the client),
 * the timeout covers the wait for response headers, and a client that goes away cancels the upstream call.
 * Failures become envelope errors here; nothing the fetch threw reaches the client.
 */
import { GatewayError } from "../errors";
import type { Product } from "../config/products";
import type { PreparedBody } from "./body";

export interface ForwardRequest {
  method: string;
  /** The validated product-relative path, exactly as authorized, plus the raw query string (with `?`). */
  path: string;
  search: string;
  headers: Headers;
  body: PreparedBody;
  /** The client request's signal: aborted when the client disconnects. */
  clientSignal: AbortSignal;
  /** Aborts the upstream fetch; also used by the body cap. */
  controller: AbortController;
}

export interface ForwardResult {
  response: Response;
  upstreamMs: number;
}

/** The absolute upstream URL. The path is validated to start with `/` and hold no `//`, so it cannot change the host. */
export function upstreamUrl(product: Product, path: string, search: string): string {
  const base = product.upstream.kind === "url" ? product.upstream.origin + product.upstream.basePath : "https://upstream.invalid";
  const url = `${base}${path}${search}`;
  const origin = product.upstream.kind === "url" ? product.upstream.origin : "https://upstream.invalid";
  if (new URL(url).origin !== origin) throw new GatewayError("INTERNAL_ERROR", { logReason: `upstream URL escaped its origin: ${url}` });
  return url;
}

function fetcherFor(product: Product, env: Record<string, unknown>): Fetcher | typeof globalThis {
  if (product.upstream.kind === "url") return globalThis;
  const binding = env[product.upstream.binding] as Fetcher | undefined;
  if (binding === undefined || typeof binding.fetch !== "function") {
    throw new GatewayError("INTERNAL_ERROR", { logReason: `service binding ${product.upstream.binding} is not bound` });
  }
  return binding;
}

/** Forwards and returns the raw upstream response (errors not yet normalized) with its latency. */
export async function forward(product: Product, env: Record<string, unknown>, req: ForwardRequest): Promise<ForwardResult> {
  const url = upstreamUrl(product, req.path, req.search);
  const fetcher = fetcherFor(product, env);
  const { controller } = req;
  // The deadline covers the wait for response headers only and is cleared once they arrive, so a long
  // download is never cut (and no timer outlives the request).
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, product.timeoutMs);
  req.clientSignal.addEventListener("abort", () => controller.abort(), { once: true });
  const started = Date.now();
  try {
    const response = await fetcher.fetch(url, {
      method: req.method,
      headers: req.headers,
      body: req.body.body,
      redirect: "manual",
      signal: controller.signal,
    });
    return { response, upstreamMs: Date.now() - started };
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const overflow = req.body.overflow();
    if (overflow !== null) throw overflow;
    if (timedOut) {
      throw new GatewayError("GATEWAY_TIMEOUT", { details: { timeoutMs: product.timeoutMs }, logReason: `upstream timeout after ${product.timeoutMs} ms` });
    }
    throw new GatewayError("BAD_GATEWAY", { details: { reason: "upstream_unreachable" }, logReason: `upstream fetch failed: ${reason}` });
  } finally {
    clearTimeout(deadline);
  }
}
