/**
 * How frameworks read a parameter name, so that a check on a name (a credential in the query, a method
 * override, the session cookie) cannot be passed by a spelling the product reads as the same name. Pure.
 */

/**
 * The name as the most lenient common framework reads it, from an already percent-decoded name (with `+`
 * read as a space, as `URLSearchParams` does): cut at a NUL (C-string parsers), leading spaces dropped and
 * PHP's array syntax reduced to its base (`access_token[]`, `access_token[0]` -> `access_token`); then
 * PHP's rewriting of `.`, ` ` and an unclosed `[` to `_`, `-` read as `_` (as CGI reads header names), and
 * lowercase (ASP.NET and others bind names case-insensitively). Two names that agree here can reach a
 * product as one.
 */
export function frameworkName(name: string): string {
  let base = name.split("\0", 1)[0]?.trimStart() ?? "";
  const open = base.indexOf("[");
  if (open > 0 && base.indexOf("]", open) !== -1) base = base.slice(0, open);
  return base.replace(/[.\s[-]/g, "_").toLowerCase();
}
