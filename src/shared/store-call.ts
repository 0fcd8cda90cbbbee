/**
 * A call to one of the gateway's own stores (a Durable Object, the key directory, KV) whose failure is not
 * the client's: it settles as the store answers, or, unavailable (./unavailable.ts) or not answered within
 * `ms`, becomes 503 SERVICE_UNAVAILABLE with `Retry-After` and `details: { <store>: "failed" }`. Nothing is
 * known to have changed, so asking again is the client's remedy. Any other error is thrown as it is: an
 * exception (500, logged), not an outage.
 */
import { GatewayError } from "../errors";
import { isUnavailable } from "./unavailable";
import { withDeadline } from "./with-deadline";

export async function storeCall<T>(store: string, ms: number, call: () => Promise<T>): Promise<T> {
  try {
    return await withDeadline(call(), ms);
  } catch (err) {
    if (!isUnavailable(err)) throw err;
    throw new GatewayError("SERVICE_UNAVAILABLE", { headers: { "Retry-After": "1" }, details: { [store]: "failed" }, logReason: `${store}: ${String(err)}` });
  }
}
