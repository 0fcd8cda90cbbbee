/**
 * Times a pipeline step up to the moment it hands on to the next one (or ends without doing so): how long
 * the request waited in it. The rate limiter's step is timed this way for the log's `leaseWait`, so the
 * limiter's own code stays about admission.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";

export function timedAdmission(step: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return async function timedAdmission(c, next) {
    const started = Date.now();
    let handedOn = false;
    try {
      return await step(c, () => {
        handedOn = true;
        c.get("log").admission(Date.now() - started);
        return next();
      });
    } finally {
      if (!handedOn) c.get("log").admission(Date.now() - started);
    }
  };
}
