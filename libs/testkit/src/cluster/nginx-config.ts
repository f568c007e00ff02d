import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../service-process';

export const NGINX_DIR = join(REPO_ROOT, 'nginx');

export interface NginxRenderOptions {
  listen: string;
  realtime: string[];
  gateways: string[];
  webRoot: string;
}

/** Renders nginx/cohort.conf.template's server block for the given upstream addresses. */
export function renderCohortConf({ listen, realtime, gateways, webRoot }: NginxRenderOptions): string {
  const template = readFileSync(join(NGINX_DIR, 'cohort.conf.template'), 'utf8');
  const servers = (addresses: string[], extra: string) =>
    addresses.map((a) => `  server ${a}${extra};`).join('\n');
  return (
    template
      // Realtime: a dead replica's clients move on at its first refused connect (`proxy_next_upstream`); one
      // slow connect to a busy survivor in a reconnect storm must not take it out of rotation for 5 s.
      .replace('{{REALTIME_SERVERS}}', servers(realtime, ' max_fails=3 fail_timeout=5s'))
      // Gateways: one refused connection (a restart) must not take a gateway out for long, nor the whole tier.
      .replace('{{GATEWAY_SERVERS}}', servers(gateways, ' max_fails=3 fail_timeout=1s'))
      .replace('{{LISTEN}}', listen)
      .replace('{{WEB_ROOT}}', webRoot)
  );
}

/** A complete nginx.conf for running our server block as an unprivileged process under `prefix`. */
export function renderStandaloneNginxConf(prefix: string, serverBlock: string): string {
  return `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 65536; }
worker_rlimit_nofile 200000;
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
${serverBlock}
}
`;
}

/** The config docker compose mounts: service names on the compose network. */
export function renderDockerConf(): string {
  return renderCohortConf({
    listen: '8080',
    realtime: ['realtime-1:3003', 'realtime-2:3003', 'realtime-3:3003'],
    gateways: ['gateway-1:3000', 'gateway-2:3000'],
    webRoot: '/usr/share/nginx/html',
  });
}
