import { crc32 } from 'node:zlib';

/**
 * nginx's `hash $key consistent` (ngx_http_upstream_hash_module, ketama-compatible): each server `host:port`
 * puts 160 points on a ring, point j being crc32(host \0 port prev), prev the previous point as 4 little-endian
 * bytes (0 for the first); a key goes to the first point at or after crc32(key), wrapping around. The bench
 * uses it to choose `cid`s that nginx sends to one replica (the reconnect storm kills that replica), and checks
 * the result against the replicas' own socket counts.
 */
export class ConsistentHashRing {
  private readonly points: Array<{ hash: number; server: number }>;

  /** `servers` as written in nginx's upstream block (`127.0.0.1:4001`), weight 1 each. */
  constructor(servers: readonly string[]) {
    const points: Array<{ hash: number; server: number }> = [];
    servers.forEach((server, index) => {
      const colon = server.lastIndexOf(':');
      const hasPort = colon >= 0 && /^\d+$/.test(server.slice(colon + 1));
      const host = hasPort ? server.slice(0, colon) : server;
      const port = hasPort ? server.slice(colon + 1) : '';
      const base = Buffer.concat([Buffer.from(host), Buffer.from([0]), Buffer.from(port)]);
      const prev = Buffer.alloc(4);
      for (let j = 0; j < 160; j += 1) {
        const hash = crc32(prev, crc32(base)) >>> 0;
        points.push({ hash, server: index });
        prev.writeUInt32LE(hash, 0);
      }
    });
    points.sort((a, b) => a.hash - b.hash);
    // nginx keeps the first of equal hashes.
    this.points = points.filter((p, i) => i === 0 || p.hash !== points[i - 1]!.hash);
  }

  /** Index (into `servers`) of the server nginx picks for `key` while every server is up. */
  serverFor(key: string): number {
    const hash = crc32(key) >>> 0;
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]!.hash < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.points[lo % this.points.length]!.server;
  }

  /** `count` keys `${prefix}-<n>` that land on server `target`. */
  keysFor(target: number, count: number, prefix: string): string[] {
    const keys: string[] = [];
    for (let n = 0; keys.length < count; n += 1) {
      const key = `${prefix}-${n}`;
      if (this.serverFor(key) === target) keys.push(key);
    }
    return keys;
  }
}
