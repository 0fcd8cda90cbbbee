// DEV ONLY — never deployed. In-memory records for the demo backends, partitioned by tenant and bounded so a
// long `npm run dev` session or a big test run cannot grow memory without limit.

/**
 * Creates a store of records (`{ id, ... }`) per tenant. Bounds: past `maxPerTenant` records the tenant's
 * OLDEST record is evicted, and past `maxTenants` tenants the oldest-created tenant is dropped. Eviction
 * (rather than a 409) was chosen because these are throwaway fakes: a client should never see an error
 * the real product would not send, and tests each use their own fresh tenant well under the bound.
 */
export function createTenantStore({ maxTenants = 1000, maxPerTenant = 1000 } = {}) {
  const tenants = new Map(); // tenantId -> Map(id -> record), both in insertion order

  function tenantForWrite(tenantId) {
    let records = tenants.get(tenantId);
    if (!records) {
      if (tenants.size >= maxTenants) tenants.delete(tenants.keys().next().value);
      records = new Map();
      tenants.set(tenantId, records);
    }
    return records;
  }

  return {
    list(tenantId) {
      return [...(tenants.get(tenantId)?.values() ?? [])];
    },
    get(tenantId, id) {
      return tenants.get(tenantId)?.get(id);
    },
    find(tenantId, predicate) {
      return this.list(tenantId).find(predicate);
    },
    /** Inserts or replaces; a replaced record keeps its age, so eviction stays oldest-created first. */
    put(tenantId, record) {
      const records = tenantForWrite(tenantId);
      if (!records.has(record.id) && records.size >= maxPerTenant) {
        records.delete(records.keys().next().value);
      }
      records.set(record.id, record);
      return record;
    },
    delete(tenantId, id) {
      return tenants.get(tenantId)?.delete(id) ?? false;
    },
  };
}
