/** The GatewayError a synchronous call throws, for unit tests of pure refusals. */
import { GatewayError } from "../../src/errors";

/** The GatewayError `fn` throws; fails the test when it throws nothing or something else. */
export function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}
