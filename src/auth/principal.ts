/** Who a request acts for, once authenticated. Only ids: never a key, token or cookie. */

export type AccessLevel = "read" | "write";

export type Principal =
  | { type: "key"; tenantId: string; keyId: string; access: Readonly<Record<string, AccessLevel>> }
  | { type: "user"; tenantId: string; userId: string; permissions: readonly string[] }
  | { type: "portal"; tenantId: string; subject: string; customerId: string };

/** The principal's id as logged and forwarded in `X-OneStack-Principal-Id`. */
export function principalId(p: Principal): string {
  return p.type === "key" ? p.keyId : p.type === "user" ? p.userId : p.subject;
}

/** The reserved identity headers a product backend receives (client-sent ones are removed first). */
export function identityHeaders(p: Principal): Record<string, string> {
  const headers: Record<string, string> = {
    "X-OneStack-Tenant-Id": p.tenantId,
    "X-OneStack-Principal-Type": p.type,
    "X-OneStack-Principal-Id": principalId(p),
  };
  if (p.type === "portal") headers["X-OneStack-Customer-Id"] = p.customerId;
  return headers;
}
