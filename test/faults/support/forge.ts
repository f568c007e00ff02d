import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign as cryptoSign,
  constants,
  type KeyObject,
} from 'node:crypto';
import fc from 'fast-check';

/**
 * Forges JWTs the way an attacker would: every header, claim and signature byte under our control, signed with
 * node:crypto directly (no library that refuses to build a bad token). Two profiles are attacked: the access
 * token (ES256, auth's key, checked by the gateway and the realtime handshake) and the forwarded identity
 * assertion (EdDSA, the gateway's key, checked by chat-api).
 */

type Json = Record<string, unknown>;

export type ProfileName = 'access' | 'identity';

interface Profile {
  alg: 'ES256' | 'EdDSA';
  key: KeyObject;
  publicPem: string;
  kid: string;
  typ?: string;
  claims(userId: string): Json;
}

export interface ForgeKeyInput {
  accessPrivatePem: string;
  accessKid: string;
  identityPrivatePem: string;
  identityKid: string;
  /** Where the test serves the attacker's JWKS (a verifier that followed `jku`/`x5u` would fetch it). */
  attackerJwksUrl: string;
}

const b64 = (data: Buffer | string): string => Buffer.from(data).toString('base64url');
const seg = (value: unknown): string => b64(JSON.stringify(value));
const now = (): number => Math.floor(Date.now() / 1000);

type Alg = 'ES256' | 'ES384' | 'RS256' | 'PS256' | 'EdDSA';

function signWith(alg: Alg, key: KeyObject, input: string): Buffer {
  const data = Buffer.from(input);
  switch (alg) {
    case 'ES256':
      return cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'ES384':
      return cryptoSign('sha384', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return cryptoSign('sha256', data, key);
    case 'PS256':
      return cryptoSign('sha256', data, {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
    case 'EdDSA':
      return cryptoSign(null, data, key);
  }
}

function compact(header: Json, payload: Json, alg: Alg, key: KeyObject): string {
  const input = `${seg(header)}.${seg(payload)}`;
  return `${input}.${b64(signWith(alg, key, input))}`;
}

function hmac(alg: 'HS256' | 'HS384' | 'HS512', secret: Buffer, header: Json, payload: Json): string {
  const input = `${seg(header)}.${seg(payload)}`;
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  return `${input}.${b64(createHmac(hash, secret).update(input).digest())}`;
}

/** Every way of tampering with a token these tests draw from (fast-check picks the kind and its details). */
export type Attack =
  | { kind: 'alg-none'; alg: string; signature: 'empty' | 'original' | 'garbage' }
  | {
      kind: 'hmac-confusion';
      alg: 'HS256' | 'HS384' | 'HS512';
      secret: 'pem' | 'pem-trimmed' | 'der' | 'jwk' | 'x' | 'empty';
    }
  | {
      kind: 'other-key';
      key: 'ec' | 'es384' | 'rsa' | 'ps' | 'ed' | 'sibling';
      kid: 'real' | 'none' | 'attacker';
    }
  | { kind: 'expired'; secondsAgo: number }
  | { kind: 'not-yet-valid'; secondsAhead: number }
  | { kind: 'wrong-audience'; audience: unknown }
  | { kind: 'wrong-issuer'; issuer: unknown }
  | { kind: 'wrong-typ'; typ: string | null }
  | { kind: 'wrong-kid'; kid: string }
  | { kind: 'missing-claim'; claim: string }
  | { kind: 'bad-claim-type'; claim: string; value: unknown }
  | { kind: 'truncated'; keep: number }
  | { kind: 'bit-flip'; segment: 0 | 1 | 2; bit: number }
  | { kind: 'claim-swap'; claim: 'sub' | 'exp' | 'aud' | 'sid' }
  | { kind: 'embedded-jwk'; kid: 'real' | 'attacker' }
  | { kind: 'remote-keys'; header: 'jku' | 'x5u'; kid: 'real' | 'attacker' }
  | { kind: 'x5c'; chain: string[] }
  | { kind: 'crit'; crit: string[] }
  | { kind: 'profile-swap' }
  | { kind: 'segments'; shape: 'extra' | 'two' | 'one' | 'empty-sig' | 'empty-header' | 'spaces' | 'padding' }
  | { kind: 'garbage'; text: string };

const TOKEN_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}":,';
const KID_INJECTIONS = [
  '../../../../dev/null',
  "' OR '1'='1",
  '{"$ne":null}',
  '%00',
  '/proc/self/environ',
  'http://127.0.0.1:1/key',
  '',
  ' ',
  '*',
];

/** fast-check's arbitrary over attacks that apply to `profile`. */
export function attackArb(profile: ProfileName): fc.Arbitrary<Attack> {
  const claims =
    profile === 'access'
      ? ['sub', 'sid', 'jti', 'iat', 'exp', 'iss', 'aud']
      : ['sub', 'sid', 'tid', 'tex', 'iss', 'exp', 'aud'];
  const expected = ['cohort', 'cohort-internal'];
  const notAString = fc.oneof(
    fc.integer(),
    fc.constant(null),
    fc.boolean(),
    fc.constant({ $gt: '' }),
    fc
      .array(fc.string({ maxLength: 8 }), { maxLength: 3 })
      .filter((a) => !a.some((v) => expected.includes(v))),
  );
  const notANumber = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.constant({ $gt: 0 }),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.string({ maxLength: 12 }),
  );
  const numericClaims = ['iat', 'exp', 'tex'];
  // The identity's `iss` only names the forwarder (any trusted key may forward), so its type is not an attack.
  const badClaimType = fc
    .constantFrom(...claims.filter((c) => profile === 'access' || c !== 'iss'))
    .chain((claim) =>
      fc.record({
        kind: fc.constant('bad-claim-type' as const),
        claim: fc.constant(claim),
        value: numericClaims.includes(claim) ? notANumber : notAString,
      }),
    );
  const arbs: Array<fc.Arbitrary<Attack>> = [
    fc.record({
      kind: fc.constant('alg-none' as const),
      alg: fc.constantFrom('none', 'None', 'NONE', 'nOnE', ''),
      signature: fc.constantFrom('empty' as const, 'original' as const, 'garbage' as const),
    }),
    fc.record({
      kind: fc.constant('hmac-confusion' as const),
      alg: fc.constantFrom('HS256' as const, 'HS384' as const, 'HS512' as const),
      secret: fc.constantFrom(
        'pem' as const,
        'pem-trimmed' as const,
        'der' as const,
        'jwk' as const,
        'x' as const,
        'empty' as const,
      ),
    }),
    fc.record({
      kind: fc.constant('other-key' as const),
      key: fc.constantFrom(
        'ec' as const,
        'es384' as const,
        'rsa' as const,
        'ps' as const,
        'ed' as const,
        'sibling' as const,
      ),
      kid: fc.constantFrom('real' as const, 'none' as const, 'attacker' as const),
    }),
    fc.record({ kind: fc.constant('expired' as const), secondsAgo: fc.integer({ min: 6, max: 10_000_000 }) }),
    fc.record({
      kind: fc.constant('not-yet-valid' as const),
      secondsAhead: fc.integer({ min: 60, max: 10_000_000 }),
    }),
    fc.record({
      kind: fc.constant('wrong-audience' as const),
      audience: fc.oneof(
        fc.constantFrom(profile === 'access' ? 'cohort-internal' : 'cohort', 'Cohort', 'cohort ', '', [
          'other',
        ]),
        fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s !== 'cohort' && s !== 'cohort-internal'),
        notAString,
      ),
    }),
    fc.record({
      kind: fc.constant('wrong-kid' as const),
      kid: fc.oneof(fc.constantFrom(...KID_INJECTIONS), fc.string({ maxLength: 60 })),
    }),
    fc.record({ kind: fc.constant('missing-claim' as const), claim: fc.constantFrom(...claims) }),
    badClaimType,
    fc.record({
      kind: fc.constant('truncated' as const),
      keep: fc.double({ min: 0, max: 0.999, noNaN: true }),
    }),
    fc.record({
      kind: fc.constant('bit-flip' as const),
      segment: fc.constantFrom(0 as const, 1 as const, 2 as const),
      bit: fc.nat({ max: 100_000 }),
    }),
    fc.record({
      kind: fc.constant('claim-swap' as const),
      claim: fc.constantFrom('sub' as const, 'exp' as const, 'aud' as const, 'sid' as const),
    }),
    fc.record({
      kind: fc.constant('embedded-jwk' as const),
      kid: fc.constantFrom('real' as const, 'attacker' as const),
    }),
    fc.record({
      kind: fc.constant('remote-keys' as const),
      header: fc.constantFrom('jku' as const, 'x5u' as const),
      kid: fc.constantFrom('real' as const, 'attacker' as const),
    }),
    fc.record({
      kind: fc.constant('x5c' as const),
      chain: fc.array(fc.base64String({ maxLength: 200 }), { minLength: 1, maxLength: 2 }),
    }),
    fc.record({
      kind: fc.constant('crit' as const),
      // Not 'b64': jose implements that extension (RFC 7797), so a b64:true token signed with the real key is genuine.
      crit: fc.oneof(
        fc.constant<string[]>(['exp']),
        fc.array(
          fc.string({ minLength: 1, maxLength: 10 }).filter((c) => c !== 'b64'),
          { minLength: 1, maxLength: 2 },
        ),
      ),
    }),
    fc.record({ kind: fc.constant('profile-swap' as const) }),
    fc.record({
      kind: fc.constant('segments' as const),
      shape: fc.constantFrom(
        'extra' as const,
        'two' as const,
        'one' as const,
        'empty-sig' as const,
        'empty-header' as const,
        'spaces' as const,
        'padding' as const,
      ),
    }),
    fc.record({
      kind: fc.constant('garbage' as const),
      text: fc
        .string({ unit: fc.constantFrom(...TOKEN_CHARS.split('')), minLength: 1, maxLength: 600 })
        .filter((s) => s.trim().length > 0),
    }),
  ];
  if (profile === 'access') {
    arbs.push(
      fc
        .record({
          kind: fc.constant('wrong-issuer' as const),
          issuer: fc.oneof(
            fc.constantFrom('gateway', 'realtime', 'cohort', 'Cohort-Auth', ''),
            fc.string({ maxLength: 20 }),
            notAString,
          ),
        })
        .filter((a) => a.issuer !== 'cohort-auth'),
    );
  } else {
    arbs.push(
      fc.record({
        kind: fc.constant('wrong-typ' as const),
        typ: fc.constantFrom('JWT', 'at+jwt', 'cohort-identity', null),
      }),
    );
  }
  return fc.oneof(...arbs);
}

export interface Forger {
  /** A correctly signed token of the profile (the control: it must be accepted, proving the target can say yes). */
  valid(profile: ProfileName, userId: string): string;
  /** The tampered token an attack describes. */
  forge(profile: ProfileName, attack: Attack, userId: string): string;
}

export function createForger(input: ForgeKeyInput): Forger {
  const attacker = {
    ec: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    es384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ed: generateKeyPairSync('ed25519'),
  };
  const attackerJwk = attacker.ec.publicKey.export({ format: 'jwk' });
  const accessKey = createPrivateKey(input.accessPrivatePem);
  const identityKey = createPrivateKey(input.identityPrivatePem);
  const pemOf = (key: KeyObject) => createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();

  const profiles: Record<ProfileName, Profile> = {
    access: {
      alg: 'ES256',
      key: accessKey,
      publicPem: pemOf(accessKey),
      kid: input.accessKid,
      claims: (userId) => {
        const t = now();
        return {
          sub: userId,
          sid: randomUUID(),
          jti: randomUUID(),
          iat: t,
          exp: t + 600,
          iss: 'cohort-auth',
          aud: 'cohort',
        };
      },
    },
    identity: {
      alg: 'EdDSA',
      key: identityKey,
      publicPem: pemOf(identityKey),
      kid: input.identityKid,
      typ: 'cohort-identity+jwt',
      claims: (userId) => {
        const t = now();
        return {
          sid: randomUUID(),
          tid: randomUUID(),
          tex: t + 600,
          sub: userId,
          iss: 'gateway',
          aud: 'cohort-internal',
          iat: t,
          exp: t + 60,
        };
      },
    },
  };

  const headerOf = (p: Profile, extra: Json = {}): Json => ({
    alg: p.alg,
    kid: p.kid,
    ...(p.typ ? { typ: p.typ } : {}),
    ...extra,
  });
  const signed = (p: Profile, header: Json, payload: Json) => compact(header, payload, p.alg, p.key);

  const forge = (name: ProfileName, attack: Attack, userId: string): string => {
    const p = profiles[name];
    const other = profiles[name === 'access' ? 'identity' : 'access'];
    const claims = p.claims(userId);
    const validToken = () => signed(p, headerOf(p), claims);
    switch (attack.kind) {
      case 'alg-none': {
        const body = `${seg(headerOf(p, { alg: attack.alg }))}.${seg(claims)}`;
        const sig =
          attack.signature === 'empty'
            ? ''
            : attack.signature === 'original'
              ? validToken().split('.')[2]!
              : b64(randomUUID());
        return `${body}.${sig}`;
      }
      case 'hmac-confusion': {
        const der = createPublicKey(p.key).export({ type: 'spki', format: 'der' });
        const jwk = createPublicKey(p.key).export({ format: 'jwk' });
        const secrets: Record<typeof attack.secret, Buffer> = {
          pem: Buffer.from(p.publicPem),
          'pem-trimmed': Buffer.from(p.publicPem.trim()),
          der,
          jwk: Buffer.from(JSON.stringify(jwk)),
          x: Buffer.from(String(jwk.x), 'base64url'),
          empty: Buffer.alloc(0),
        };
        return hmac(attack.alg, secrets[attack.secret], headerOf(p, { alg: attack.alg }), claims);
      }
      case 'other-key': {
        const kid = attack.kid === 'real' ? p.kid : attack.kid === 'attacker' ? 'attacker-key' : undefined;
        const header = (alg: Alg): Json => {
          const h = headerOf(p, { alg });
          if (kid === undefined) delete h.kid;
          else h.kid = kid;
          return h;
        };
        switch (attack.key) {
          case 'ec':
            return compact(header('ES256'), claims, 'ES256', attacker.ec.privateKey);
          case 'es384':
            return compact(header('ES384'), claims, 'ES384', attacker.es384.privateKey);
          case 'rsa':
            return compact(header('RS256'), claims, 'RS256', attacker.rsa.privateKey);
          case 'ps':
            return compact(header('PS256'), claims, 'PS256', attacker.rsa.privateKey);
          case 'ed':
            return compact(header('EdDSA'), claims, 'EdDSA', attacker.ed.privateKey);
          case 'sibling':
            // Signed by our own other key (the gateway's identity key for access tokens, auth's for identities).
            return compact(header(other.alg), claims, other.alg, other.key);
        }
        break;
      }
      case 'expired':
        return signed(p, headerOf(p), {
          ...claims,
          iat: now() - attack.secondsAgo - 600,
          exp: now() - attack.secondsAgo,
        });
      case 'not-yet-valid':
        return signed(p, headerOf(p), { ...claims, nbf: now() + attack.secondsAhead });
      case 'wrong-audience':
        return signed(p, headerOf(p), { ...claims, aud: attack.audience });
      case 'wrong-issuer':
        return signed(p, headerOf(p), { ...claims, iss: attack.issuer });
      case 'wrong-typ': {
        const header = headerOf(p);
        if (attack.typ === null) delete header.typ;
        else header.typ = attack.typ;
        return signed(p, header, claims);
      }
      case 'wrong-kid':
        return signed(p, headerOf(p, { kid: attack.kid === p.kid ? `${attack.kid}x` : attack.kid }), claims);
      case 'missing-claim': {
        const copy = { ...claims };
        delete copy[attack.claim];
        return signed(p, headerOf(p), copy);
      }
      case 'bad-claim-type':
        return signed(p, headerOf(p), { ...claims, [attack.claim]: attack.value });
      case 'truncated': {
        const token = validToken();
        return token.slice(0, Math.floor(token.length * attack.keep));
      }
      case 'bit-flip': {
        const parts = validToken().split('.');
        const bytes = Buffer.from(parts[attack.segment]!, 'base64url');
        const bit = attack.bit % (bytes.length * 8);
        bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7));
        parts[attack.segment] = b64(bytes);
        return parts.join('.');
      }
      case 'claim-swap': {
        // Claims changed after signing, signature kept.
        const [h, , s] = validToken().split('.');
        const changed: Json = { ...claims };
        if (attack.claim === 'sub') changed.sub = `${userId.slice(0, -1)}${userId.endsWith('0') ? '1' : '0'}`;
        if (attack.claim === 'exp') changed.exp = now() + 10 * 365 * 86_400;
        if (attack.claim === 'aud') changed.aud = [claims.aud, 'extra'];
        if (attack.claim === 'sid') changed.sid = randomUUID();
        return `${h}.${seg(changed)}.${s}`;
      }
      case 'embedded-jwk': {
        const kid = attack.kid === 'real' ? p.kid : 'attacker-key';
        return compact(
          headerOf(p, { alg: 'ES256', kid, jwk: { ...attackerJwk, kid } }),
          claims,
          'ES256',
          attacker.ec.privateKey,
        );
      }
      case 'remote-keys': {
        const kid = attack.kid === 'real' ? p.kid : 'attacker-key';
        return compact(
          headerOf(p, { alg: 'ES256', kid, [attack.header]: input.attackerJwksUrl }),
          claims,
          'ES256',
          attacker.ec.privateKey,
        );
      }
      case 'x5c':
        return compact(
          headerOf(p, { alg: 'ES256', x5c: attack.chain }),
          claims,
          'ES256',
          attacker.ec.privateKey,
        );
      case 'crit':
        return signed(
          p,
          headerOf(p, { crit: attack.crit, ...Object.fromEntries(attack.crit.map((c) => [c, true])) }),
          claims,
        );
      case 'profile-swap':
        // The other profile's genuine token (the identity assertion as an access token, or the reverse).
        return signed(other, headerOf(other), other.claims(userId));
      case 'segments': {
        const token = validToken();
        const [h, c, s] = token.split('.');
        switch (attack.shape) {
          case 'extra':
            return `${token}.${s}`;
          case 'two':
            return `${h}.${c}`;
          case 'one':
            return c!;
          case 'empty-sig':
            return `${h}.${c}.`;
          case 'empty-header':
            return `.${c}.${s}`;
          case 'spaces':
            return `${h}. ${c}.${s}`;
          case 'padding':
            return `${h}==.${c}==.${s}==`;
        }
        break;
      }
      case 'garbage':
        return attack.text;
    }
    throw new Error(`unhandled attack ${JSON.stringify(attack)}`);
  };

  return {
    valid: (name, userId) => {
      const p = profiles[name];
      return signed(p, headerOf(p), p.claims(userId));
    },
    forge,
  };
}
