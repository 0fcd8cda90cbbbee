// Types for test/unit/admin-plan.test.ts (scripts stay plain JavaScript, no build step).
export interface PolicyInput { name: string; limit: number; window: string; mode?: "enforce" | "shadow" }
export interface Entry { tenantId: string; keyId?: string; policies: PolicyInput[] | null }
export interface Change { tenantId: string; keyId?: string; action: "set" | "change" | "reset"; before: PolicyInput[] | null; after: PolicyInput[] | null }
export function readTenantsFile(doc: unknown): { environment: string | null; entries: Entry[] };
export function diffEntry(entry: Entry, live: { overridden: boolean; policies: PolicyInput[] }): Change | null;
