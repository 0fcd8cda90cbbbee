/** The field a ConfigError names, for tests of configuration validation. */
import { ConfigError } from "../../src/config/validate";

export function configErrorField(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.field;
    throw err;
  }
  throw new Error("expected a ConfigError");
}
