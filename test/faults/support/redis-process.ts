import { readdirSync, readFileSync } from 'node:fs';

/**
 * The pid of the redis-server the cluster started on `port` (testkit's RedisServer does not expose it), found by
 * its command line in /proc (Linux only).
 */
export function redisServerPid(port: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    // Redis rewrites its title to `redis-server 127.0.0.1:<port>`; before that it is its arguments.
    const title = args.join(' ');
    if (!args[0]?.includes('redis-server')) continue;
    if (title.includes(`:${port}`) || title.includes(`--port ${port} `)) return Number(entry);
  }
  throw new Error(`no redis-server process on port ${port}`);
}

/** SIGSTOP: the server keeps its connections open and answers nothing (a hung host, a silent partition). */
export function freezeRedis(port: number): number {
  const pid = redisServerPid(port);
  process.kill(pid, 'SIGSTOP');
  return pid;
}

/** SIGCONT to a server frozen by `freezeRedis`. */
export function thawRedis(pid: number): void {
  process.kill(pid, 'SIGCONT');
}
