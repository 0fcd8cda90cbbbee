/**
 * Sends the request to the product backend: redirects are never followed (they pass back to the client).
 * A client that goes away does not end the upstream call: the runtime does not tell the Worker (an incoming
 * request's signal is never aborted on a disconnect), so the product timeout bounds an abandoned call as it
 * bounds any other. That timeout (a `Deadline`) starts when the request body has been handed over, so a slow
 * upload is not blamed on the product, and it keeps running after the response headers for the gateway's
 * own read of an error body. Failures become envelope errors
 * here; nothing the fetch threw reaches the client.
 */
import { GatewayError } from "../errors";
import type { Product } from "../config/products";
import type { PreparedBody } from "./body";
import { Deadline } from "./deadline";

export interface ForwardRequest {
  method: string;
  /** The validated product-relative path, exactly as authorized, plus the raw query string (with `?`). */
  path: string;
  search: string;
  headers: Headers;
  body: PreparedBody;
  /** The client request's signal. The runtime never aborts it on a disconnect; a Request made with its own signal (a test, a caller of `fetch` on the app) can. */
  clientSignal: AbortSignal;
  /** Aborts the upstream fetch; also used by the body checks. */
  controller: AbortController;
}

export interface ForwardResult {
  response: Response;
  upstreamMs: number;
  /** The URL the product was asked for (the base for a relative `Location`). */
  url: string;
  /** Still running: the caller clears it once it has read what it will read of the body. */
  deadline: Deadline;
}

/**
 * The absolute upstream URL. An origin's authority ends at the first `/` after it, so what follows the origin
 * cannot change the host as long as it starts with one: the validated path always does, and this check
 * (a string test, not a second URL object per request: 28 k instructions less, callgrind, issue 21) keeps a future
 * caller from breaking that.
 */
export function upstreamUrl(product: Product, path: string, search: string): string {
  const rest = `${upstreamBasePath(product)}${path}${search}`;
  if (!rest.startsWith("/")) throw new GatewayError("INTERNAL_ERROR", { logReason: `upstream URL escaped its origin: ${upstreamOrigin(product)}${rest}` });
  return `${upstreamOrigin(product)}${rest}`;
}

/** The origin a product is reached at (a service binding sees a placeholder origin). */
export function upstreamOrigin(product: Product): string {
  return product.upstream.kind === "url" ? product.upstream.origin : "https://upstream.invalid";
}

export function upstreamBasePath(product: Product): string {
  return product.upstream.kind === "url" ? product.upstream.basePath : "";
}

function fetcherFor(product: Product, env: Record<string, unknown>): Fetcher | typeof globalThis {
  if (product.upstream.kind === "url") return globalThis;
  const binding = env[product.upstream.binding] as Fetcher | undefined;
  if (binding === undefined || typeof binding.fetch !== "function") {
    throw new GatewayError("INTERNAL_ERROR", { logReason: `service binding ${product.upstream.binding} is not bound` });
  }
  return binding;
}

function timeout(ms: number, what: string): GatewayError {
  return new GatewayError("GATEWAY_TIMEOUT", { details: { timeoutMs: ms }, logReason: `upstream timeout after ${ms} ms ${what}` });
}

/** Forwards and returns the raw upstream response (errors not yet normalized), its latency and the running deadline. */
export async function forward(product: Product, env: Record<string, unknown>, req: ForwardRequest): Promise<ForwardResult> {
  const url = upstreamUrl(product, req.path, req.search);
  const fetcher = fetcherFor(product, env);
  const { controller } = req;
  const deadline = new Deadline(product.timeoutMs, controller);
  req.body.handedOver.then(() => deadline.start(), () => undefined);
  const started = Date.now();
  try {
    const response = await fetcher.fetch(url, {
      method: req.method,
      headers: req.headers,
      body: req.body.body,
      redirect: "manual",
      // The client's signal follows the call natively: a listener in JavaScript cost 9 k instructions a request
      // (addEventListener or `onabort` alike, callgrind, issue 21) for a signal the runtime never aborts.
      signal: AbortSignal.any([controller.signal, req.clientSignal]),
    });
    req.body.answered();
    // An answer before the upload ended (an early refusal) still gets a bounded error-body read.
    deadline.start();
    return { response, upstreamMs: Date.now() - started, url, deadline };
  } catch (err) {
    deadline.clear();
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const failure = await req.body.failure();
    if (failure !== null) throw failure;
    await req.body.settle(true);
    if (deadline.expired) throw timeout(product.timeoutMs, "waiting for response headers");
    throw new GatewayError("BAD_GATEWAY", { details: { reason: "upstream_unreachable" }, logReason: `upstream fetch failed: ${reason}` });
  }
}
