/**
 * A Content-Length value as the gateway reads it, on requests and responses alike: 1-15 decimal digits (a
 * length JavaScript holds exactly), nothing else. A list (`5, 5`), a sign or a fraction is not a length.
 */
export function contentLength(value: string | null): number | undefined {
  return value !== null && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}
