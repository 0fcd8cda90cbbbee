/**
 * Duplicate member names in a JSON text (RFC 8259 §4: names SHOULD be unique; parsers then disagree, and
 * JSON.parse silently keeps the last). Configuration and admin input refuse them, naming the member the way
 * schema issues name fields (src/shared/schema-issues.ts: `access.psa`, `policies[0].name`). A shared leaf.
 */

import { fieldKey as join } from "./schema-issues";

type Frame = { kind: "object"; path: string; names: Set<string>; name: string; expectName: boolean } | { kind: "array"; path: string; index: number };

/** The path of the first member whose name repeats in its object, at any depth; null when none does. `text` must be valid JSON. */
export function duplicateMember(text: string): string | null {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const top = stack.at(-1);
    if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (top?.kind === "object" && top.expectName) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.names.has(name)) return join(top.path, name);
        top.names.add(name);
        top.name = name;
        top.expectName = false;
      }
      i = end;
    } else if (ch === "{" || ch === "[") {
      const path = top === undefined ? "" : top.kind === "object" ? join(top.path, top.name) : `${top.path}[${top.index}]`;
      stack.push(ch === "{" ? { kind: "object", path, names: new Set(), name: "", expectName: true } : { kind: "array", path, index: 0 });
    } else if (ch === "}" || ch === "]") {
      stack.pop();
    } else if (ch === "," && top !== undefined) {
      if (top.kind === "object") top.expectName = true;
      else top.index += 1;
    }
  }
  return null;
}
