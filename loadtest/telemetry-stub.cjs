// Preloaded into artillery (NODE_OPTIONS=--require=…): answers `require('posthog-node')` with a client that
// sends nothing, so artillery neither phones home nor spends ~12 s retrying at exit on a machine without egress.
'use strict';
const Module = require('node:module');

class SilentPostHog {
  capture() {}
  async shutdownAsync() {}
  async shutdown() {}
}

const load = Module._load;
Module._load = function loadWithoutTelemetry(request, parent, isMain) {
  if (request === 'posthog-node') return { PostHog: SilentPostHog };
  return load.call(this, request, parent, isMain);
};
