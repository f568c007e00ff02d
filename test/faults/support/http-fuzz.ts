import fc from 'fast-check';
import { badJsonText, extraKey, invalidUtf8, longString } from './hostile';

/** One hostile HTTP request. `body` is sent as given (bytes or text); `label` says what was done to it. */
export interface HttpCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  label: string;
}

export type FieldArbs = Record<string, fc.Arbitrary<unknown>>;

const JSON_TYPE = { 'content-type': 'application/json' };

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys[keys.length - 1]!] = value;
}

function deletePath(target: Record<string, unknown>, path: string): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[keys[keys.length - 1]!];
}

/**
 * Hostile bodies derived from a valid one: one field replaced by a value the contract refuses, a required
 * field removed, a key the strict schema refuses added (prototype keys spliced into the raw JSON, since an
 * object literal would not keep them), malformed or non-object JSON, invalid UTF-8 in a key, an oversized
 * body, or a content type that is not JSON.
 */
export function hostileBodies(
  valid: () => Record<string, unknown>,
  fields: FieldArbs,
  required: readonly string[],
): fc.Arbitrary<{ body: string | Buffer; headers: Record<string, string>; label: string }> {
  const fieldNames = Object.keys(fields);
  const replaced = fc
    .constantFrom(...fieldNames)
    .chain((field) => fields[field]!.map((value) => ({ field, value })))
    .map(({ field, value }) => {
      const body = structuredClone(valid());
      setPath(body, field, value);
      return { body: JSON.stringify(body), headers: JSON_TYPE, label: `field ${field}` };
    });
  const removed = fc.constantFrom(...(required.length > 0 ? required : fieldNames)).map((field) => {
    const body = structuredClone(valid());
    deletePath(body, field);
    return { body: JSON.stringify(body), headers: JSON_TYPE, label: `missing ${field}` };
  });
  const added = fc
    .tuple(
      extraKey.filter((k) => !Object.hasOwn(valid(), k)),
      fc.oneof(fc.constant(true), fc.constant({ polluted: true }), fc.string({ maxLength: 8 })),
    )
    .map(([key, value]) => {
      const text = JSON.stringify(valid());
      return {
        body: `{${JSON.stringify(key)}:${JSON.stringify(value)},${text.slice(1)}`,
        headers: JSON_TYPE,
        label: `extra key ${key}`,
      };
    });
  const badJson = badJsonText.map((text) => ({ body: text, headers: JSON_TYPE, label: 'not a JSON object' }));
  const utf8InKey = invalidUtf8.map((bytes) => {
    const text = JSON.stringify(valid());
    const firstKeyEnd = text.indexOf('"', 2);
    const body = Buffer.concat([
      Buffer.from(text.slice(0, firstKeyEnd)),
      Buffer.from(bytes),
      Buffer.from(text.slice(firstKeyEnd)),
    ]);
    return { body, headers: JSON_TYPE, label: 'invalid UTF-8 in a key' };
  });
  const oversized = longString(70_000, 200_000, 400_000).map((filler) => ({
    body: JSON.stringify({ ...valid(), padding: filler }),
    headers: JSON_TYPE,
    label: 'oversized body',
  }));
  const notJson = fc
    .constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/xml',
    )
    .map((type) => {
      const fields = valid();
      const body = type.includes('urlencoded')
        ? new URLSearchParams(
            Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)]),
          ).toString()
        : JSON.stringify(fields);
      // Form-encoded copies of the fields are refused only because nothing parses them: that is the point.
      return { body, headers: { 'content-type': type }, label: `content-type ${type}` };
    });
  return fc.oneof(
    { weight: 8, arbitrary: replaced },
    { weight: 2, arbitrary: removed },
    { weight: 2, arbitrary: added },
    { weight: 2, arbitrary: badJson },
    { weight: 1, arbitrary: utf8InKey },
    { weight: 1, arbitrary: oversized },
    { weight: 1, arbitrary: notJson },
  );
}

/** Hostile query strings from valid params: a param replaced, repeated (an array), bracketed (an operator) or dropped. */
export function hostileQueries(
  valid: Record<string, string>,
  fields: Record<string, fc.Arbitrary<string>>,
  required: readonly string[],
): fc.Arbitrary<{ query: string; label: string }> {
  const enc = (pairs: Array<[string, string]>) =>
    pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const names = Object.keys(fields);
  const replaced = fc
    .constantFrom(...names)
    .chain((name) => fields[name]!.map((value) => ({ name, value })))
    .map(({ name, value }) => ({
      query: enc(Object.entries({ ...valid, [name]: value })),
      label: `param ${name}`,
    }));
  // The same parameter twice is an array to Express's query parser, never a string or a number.
  const repeated = fc.constantFrom(...names).map((name) => {
    const pair: [string, string] = [name, valid[name] ?? '1'];
    const rest = Object.entries(valid).filter(([k]) => k !== name);
    return { query: enc([...rest, pair, pair]), label: `repeated ${name}` };
  });
  const bracketed = fc
    .tuple(fc.constantFrom(...names), fc.constantFrom('[$gt]', '[$ne]', '[]', '[0]', '[__proto__]', '.$gt'))
    .map(([name, suffix]) => ({
      query: enc(
        Object.entries(valid).map(([k, v]): [string, string] => (k === name ? [`${k}${suffix}`, v] : [k, v])),
      ),
      label: `bracketed ${name}${suffix}`,
    }))
    .filter(({ label }) => required.some((r) => label.includes(` ${r}`)));
  const arbs = [replaced, repeated];
  if (required.length > 0) {
    const dropped = fc.constantFrom(...required).map((name) => ({
      query: enc(Object.entries(valid).filter(([k]) => k !== name)),
      label: `missing ${name}`,
    }));
    arbs.push(bracketed, dropped);
  }
  return fc.oneof(...arbs);
}
