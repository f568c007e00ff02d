/**
 * zod-to-openapi 9 writes a regex's `toString()` without its slashes, so `/^[0-9a-f]{24}$/i` becomes the
 * pattern `^[0-9a-f]{24}$/i`, which matches nothing. OpenAPI patterns (ECMA 262) carry no flags, so a
 * case-insensitive one is rewritten with both cases spelled out. Walks the document in place.
 */
export function fixRegexFlagPatterns(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) fixRegexFlagPatterns(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (key === 'pattern' && typeof value === 'string') {
      const match = /^(.*)\/([dgimsuvy]+)$/s.exec(value);
      if (match?.[1] !== undefined && match[2] !== undefined) {
        record[key] = match[2].includes('i') ? bothCases(match[1]) : match[1];
      }
    } else {
      fixRegexFlagPatterns(value);
    }
  }
}

/** `[0-9a-f]` → `[0-9a-fA-F]`, `x` → `[xX]`; escapes are kept as they are. */
export function bothCases(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] ?? '';
    if (c === '\\') {
      out += c + (source[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        out += c;
        continue;
      }
      const to = source[i + 2];
      if (/[a-z]/i.test(c) && source[i + 1] === '-' && to !== undefined && /[a-z]/i.test(to)) {
        out += `${c}-${to}${swap(c)}-${swap(to)}`;
        i += 2;
        continue;
      }
      out += /[a-z]/i.test(c) ? c + swap(c) : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      continue;
    }
    out += /[a-z]/i.test(c) ? `[${c}${swap(c)}]` : c;
  }
  return out;
}

function swap(c: string): string {
  return c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
}
