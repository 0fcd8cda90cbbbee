/**
 * How an isolate calls its tenant's object for a lease exchange: the request and answer in their wire form
 * (limiter-protocol.ts), and the object's id kept per tenant. `getByName` derives the id from the name (a
 * SHA-256) on every call, and a sparse tenant's every request makes an exchange (bench: ~21 k instructions of
 * each); an id is a value, valid for its namespace in any request (a stub is not: it belongs to the request
 * that made it). Kept per namespace, bounded like the lease holders (admission.ts).
 */
import { remember } from "../shared/bounded-map";
import { decodeLeaseAnswer, encodeLeaseRequest, type LeaseAnswer, type LeaseRequest } from "./limiter-protocol";

const MAX_OBJECT_IDS = 10_000;
const objectIds = new WeakMap<DurableObjectNamespace, Map<string, DurableObjectId>>();

type Limiters = Env["TENANT_LIMITER"];

/** The stub of `tenantId`'s object, from its id kept in this isolate. */
export function limiterOf(limiters: Limiters, tenantId: string): ReturnType<Limiters["get"]> {
  let ids = objectIds.get(limiters);
  if (ids === undefined) objectIds.set(limiters, (ids = new Map()));
  let id = ids.get(tenantId);
  if (id === undefined) remember(ids, MAX_OBJECT_IDS, tenantId, (id = limiters.idFromName(tenantId)));
  return limiters.get(id);
}

/** One lease exchange with `tenantId`'s object, in the wire form (the object answers a string with a string). */
export async function exchangeWith(limiters: Limiters, tenantId: string, req: LeaseRequest): Promise<LeaseAnswer> {
  return decodeLeaseAnswer((await limiterOf(limiters, tenantId).exchange(encodeLeaseRequest(req))) as string);
}
