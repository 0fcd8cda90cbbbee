/**
 * Usage metrics per tenant and product, one Analytics Engine data point per request, written only when
 * the `USAGE` binding is configured (a no-op otherwise, e.g. in local development). The field order is the
 * schema the SQL queries in docs/operations.md and docs/rate-limiting.md rely on: change both together.
 *
 *   index1  tenant ("-" when the request never authenticated)
 *   blob1   product      blob2 route       blob3 code ("" on success)   blob4 principal type
 *   blob5   decision     blob6 method      blob7 shadow policies that would have refused (comma-separated, "" for none)
 *   double1 status       double2 total ms  double3 upstream ms (0 when no upstream call)
 *   double4 upstream status (0 when none) double5 rate-limit remaining (-1 when not limited)
 */
import type { RequestLogFields } from "./request-log";

function usageDataPoint(f: RequestLogFields): AnalyticsEngineDataPoint {
  return {
    indexes: [f.tenant ?? "-"],
    blobs: [f.product ?? "", f.route ?? "", f.code ?? "", f.principalType ?? "", f.decision ?? "", f.method, (f.shadowViolated ?? []).join(",")],
    doubles: [f.status ?? 0, f.totalMs ?? 0, f.upstreamMs ?? 0, f.upstreamStatus ?? 0, f.rateLimitRemaining ?? -1],
  };
}

/** Writes the request's data point if the dataset is bound (src/ops/observe.ts, once the record is complete). Never throws: metrics must not fail a request. */
export function recordUsage(dataset: AnalyticsEngineDataset | undefined, fields: RequestLogFields): void {
  if (dataset === undefined) return;
  try {
    dataset.writeDataPoint(usageDataPoint(fields));
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "usage metric write failed", requestId: fields.requestId, error: String(err) }));
  }
}
