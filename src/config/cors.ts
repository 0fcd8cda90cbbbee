/** CORS settings: an explicit allow-list of browser origins (never `*`, since responses may be credentialed). */
import { ConfigError, expectInt } from "./validate";

export interface CorsConfig {
  origins: ReadonlySet<string>;
  maxAgeSec: number;
}

export function parseCorsConfig(vars: Record<string, unknown>): CorsConfig {
  const raw = typeof vars.CORS_ORIGINS === "string" ? vars.CORS_ORIGINS : "";
  const origins = new Set<string>();
  for (const entry of raw.split(",").map((o) => o.trim()).filter((o) => o !== "")) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new ConfigError("CORS_ORIGINS", "each entry must be an origin like https://portal.example.com", JSON.stringify(entry));
    }
    if (url.origin !== entry) throw new ConfigError("CORS_ORIGINS", "each entry must be a bare origin (scheme://host[:port]), not * or a URL with a path", JSON.stringify(entry));
    origins.add(url.origin);
  }
  return { origins, maxAgeSec: expectInt(vars.CORS_MAX_AGE_SECONDS ?? 600, "CORS_MAX_AGE_SECONDS", 0, 86_400) };
}
