/**
 * Duplicate members in a JSON document. JSON.parse keeps the last of two members with the same name, so a
 * product written twice in config/products.json would silently replace the first; the configuration check
 * refuses the document instead. Pure: a scan of text JSON.parse has already accepted.
 */

/** Where a scan is: the text and the offset of the next character. */
interface Cursor {
  text: string;
  at: number;
}

function skipSpace(c: Cursor): void {
  while (/\s/.test(c.text[c.at] ?? "")) c.at++;
}

/** Reads a string token starting at its opening quote; JSON.parse decodes it. */
function readString(c: Cursor): string {
  const start = c.at;
  c.at++;
  while (c.text[c.at] !== '"') c.at += c.text[c.at] === "\\" ? 2 : 1;
  c.at++;
  return JSON.parse(c.text.slice(start, c.at)) as string;
}

/** Scans one value at the cursor; returns the field path of the first duplicate member inside it, or null. */
function scanValue(c: Cursor, path: string): string | null {
  skipSpace(c);
  const ch = c.text[c.at];
  if (ch === "{" || ch === "[") {
    const isObject = ch === "{";
    const names = new Set<string>();
    c.at++;
    for (let index = 0; ; index++) {
      skipSpace(c);
      if (c.text[c.at] === (isObject ? "}" : "]")) break;
      let childPath = `${path}[${index}]`;
      if (isObject) {
        const name = readString(c);
        childPath = `${path}.${name}`;
        if (names.has(name)) return childPath;
        names.add(name);
        skipSpace(c);
        c.at++; // the colon
      }
      const found = scanValue(c, childPath);
      if (found !== null) return found;
      skipSpace(c);
      if (c.text[c.at] === ",") c.at++;
    }
    c.at++;
    return null;
  }
  if (ch === '"') readString(c);
  else while (c.at < c.text.length && !/[\s,\]}]/.test(c.text[c.at] ?? "")) c.at++;
  return null;
}

/** The field path (`products.psa`, `products.psa.routes[0].path`) of the first member that repeats a name, or null. */
export function firstDuplicateMember(text: string, root: string): string | null {
  return scanValue({ text, at: 0 }, root);
}
