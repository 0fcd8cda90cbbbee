/** Configuration of admin authentication: the rotation secret and the Cloudflare Access application. */
import { describe, expect, it } from "vitest";
import { parseAuthConfig } from "../../src/config/auth";
import { configErrorField } from "../support/config-error";

describe("admin authentication settings", () => {
  it("reads ADMIN_SECRET_NEXT, and treats empty as not set", () => {
    expect(parseAuthConfig({ ADMIN_SECRET: "a".repeat(16), ADMIN_SECRET_NEXT: "b".repeat(16) }, "production").adminSecretNext).toBe("b".repeat(16));
    expect(parseAuthConfig({ ADMIN_SECRET_NEXT: "" }, "production").adminSecretNext).toBeNull();
  });

  it("reads an Access application with the team's certs URL by default", () => {
    const { adminAccess } = parseAuthConfig({ ACCESS_TEAM_DOMAIN: "https://team.cloudflareaccess.com/", ACCESS_AUD: "aud1, aud2" }, "production");
    expect(adminAccess).toMatchObject({ issuer: "https://team.cloudflareaccess.com", audiences: ["aud1", "aud2"], certs: { kind: "remote", url: "https://team.cloudflareaccess.com/cdn-cgi/access/certs" } });
    expect(parseAuthConfig({ ACCESS_TEAM_DOMAIN: "", ACCESS_AUD: "" }, "production").adminAccess).toBeNull();
  });

  it.each([
    [{ ADMIN_SECRET_NEXT: "short" }, "production", "ADMIN_SECRET_NEXT"],
    [{ ADMIN_SECRET: "short" }, "production", "ADMIN_SECRET"],
    [{ ACCESS_AUD: "aud" }, "production", "ACCESS_TEAM_DOMAIN"],
    [{ ACCESS_TEAM_DOMAIN: "https://team.cloudflareaccess.com" }, "production", "ACCESS_AUD"],
    [{ ACCESS_TEAM_DOMAIN: "http://team.cloudflareaccess.com", ACCESS_AUD: "a" }, "production", "ACCESS_TEAM_DOMAIN"],
    [{ ACCESS_TEAM_DOMAIN: "https://team.cloudflareaccess.com", ACCESS_AUD: "a", ACCESS_CERTS_URL: "http://127.0.0.1/certs" }, "staging", "ACCESS_CERTS_URL"],
    [{ ACCESS_TEAM_DOMAIN: "team", ACCESS_AUD: "a" }, "production", "ACCESS_TEAM_DOMAIN"],
  ] as const)("refuses %j in %s naming %s", (vars, environment, field) => {
    expect(configErrorField(() => parseAuthConfig({ ...vars }, environment))).toBe(field);
  });
});
