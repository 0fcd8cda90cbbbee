// Types for test/unit/admin-plan.test.ts (scripts stay plain JavaScript, no build step).
export interface PolicyInput { name: string; limit: number; window: string; mode?: "enforce" | "shadow" }
export interface Entry { tenantId: string; keyId?: string; policies: PolicyInput[] | null }
export interface Change { tenantId: string; keyId?: string; action: "set" | "change" | "reset"; before: PolicyInput[] | null; after: PolicyInput[] | null; newTenant?: true }
export interface LimitView { overridden: boolean; policies: PolicyInput[] }
export function diffEntry(entry: Entry, live: LimitView | null): Change | null;
export function tenantsFileOf(environment: string, tenants: Array<{ tenantId: string; view: LimitView; keyViews: Array<{ keyId: string; view: LimitView }> }>): { environment: string; tenants: Record<string, unknown> };
