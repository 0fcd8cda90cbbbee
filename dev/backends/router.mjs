// DEV ONLY — never deployed. A tiny method + path router for the demo backends: `/tickets/:id` style
// patterns, exact match on the raw (undecoded) path, so the backend sees exactly what the gateway sent.

/**
 * Compiles `[{ method, path, handler }]` into a matcher. `match(method, pathname)` returns
 * `{ handler, params }` (HEAD finds the GET route), or `{ allow }` when the path exists under other
 * methods (a 405), or null (a 404).
 */
export function createRouter(routes) {
  const compiled = routes.map((route) => {
    const names = [];
    const source = route.path
      .split("/")
      .map((segment) => {
        if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        names.push(segment.slice(1));
        return "([^/]+)";
      })
      .join("/");
    return { ...route, names, regex: new RegExp(`^${source}$`) };
  });

  return {
    match(method, pathname) {
      // HEAD is answered by the GET route, as HTTP servers do (RFC 9110 §9.3.2); Node drops the body.
      const lookup = method === "HEAD" ? "GET" : method;
      const allow = [];
      for (const route of compiled) {
        const found = route.regex.exec(pathname);
        if (!found) continue;
        if (route.method !== lookup) {
          allow.push(route.method);
          continue;
        }
        const params = Object.fromEntries(route.names.map((name, i) => [name, found[i + 1]]));
        return { handler: route.handler, params };
      }
      return allow.length > 0 ? { allow } : null;
    },
  };
}
