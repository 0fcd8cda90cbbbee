/** A lease exchange with a tenant's object (its stub, or the instance in runInDurableObject), in the wire form the gateway uses. */
import { decodeLeaseAnswer, encodeLeaseRequest, type LeaseAnswer, type LeaseRequest } from "../../src/ratelimit/limiter-protocol";

export async function leaseExchange(limiter: { exchange(request: string): Promise<string | LeaseAnswer> }, req: LeaseRequest): Promise<LeaseAnswer> {
  return decodeLeaseAnswer((await limiter.exchange(encodeLeaseRequest(req))) as string);
}
