/**
 * A call to one of the gateway's own stores (a Durable Object, the key directory) whose failure is not the
 * client's: it settles as the store answers, or, failed or not answered within `ms`, becomes 503
 * SERVICE_UNAVAILABLE with `Retry-After` and `details: { <store>: "failed" }`. Nothing is known to have
 * changed, so asking again is the client's remedy.
 */
import { GatewayError } from "../errors";
import { withDeadline } from "./with-deadline";

export async function storeCall<T>(store: string, ms: number, call: () => Promise<T>): Promise<T> {
  try {
    return await withDeadline(call(), ms);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError("SERVICE_UNAVAILABLE", { headers: { "Retry-After": "1" }, details: { [store]: "failed" }, logReason: `${store}: ${String(err)}` });
  }
}
