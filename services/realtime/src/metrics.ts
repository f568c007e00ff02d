import { Counter, Gauge, Histogram } from 'prom-client';
import { createMetrics, type ServiceMetrics } from '@cohort/common';

export interface RealtimeMetrics extends ServiceMetrics {
  connectedSockets: Gauge;
  /** Labelled by event name; names outside the contract count as `unknown` (the labels stay bounded). */
  eventsIn: Counter<'event'>;
  eventsOut: Counter<'event'>;
  rateLimited: Counter;
  /** chat:send received → ack sent (the chat-api round trip included). */
  sendAckSeconds: Histogram<'outcome'>;
  /** Handshakes being worked on now (bounded by `MAX_CONCURRENT_HANDSHAKES`). */
  handshakesInProgress: Gauge;
  /** Handshakes waiting for a place among those (handshake-admission.ts). */
  handshakesWaiting: Gauge;
  /** Handshakes by how they ended: `connected`, a refusal's code (`overloaded`…), or `abandoned` by the client. */
  handshakes: Counter<'outcome'>;
  /** Where admitted handshakes found their memberships: `directory` (a returning user) or `chat-api`. */
  handshakeMemberships: Counter<'source'>;
  /** `chat:sync`s answered, by who answered: `replica` (its recent messages) or `chat-api`. */
  syncs: Counter<'answered_by'>;
}

export function createRealtimeMetrics(replica: string): RealtimeMetrics {
  const base = createMetrics('realtime', { replica });
  const registers = [base.registry];
  return {
    ...base,
    connectedSockets: new Gauge({
      name: 'realtime_connected_sockets',
      help: 'Sockets connected to this replica',
      registers,
    }),
    eventsIn: new Counter({
      name: 'realtime_events_in_total',
      help: 'Client events received',
      labelNames: ['event'],
      registers,
    }),
    eventsOut: new Counter({
      name: 'realtime_events_out_total',
      help: 'Server events emitted (one per emit operation, whatever the number of recipients)',
      labelNames: ['event'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'realtime_rate_limited_total',
      help: 'Client events refused by the per-socket limit',
      registers,
    }),
    sendAckSeconds: new Histogram({
      name: 'realtime_send_ack_seconds',
      help: 'chat:send received to ack sent',
      labelNames: ['outcome'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    handshakesInProgress: new Gauge({
      name: 'realtime_handshakes_in_progress',
      help: 'Handshakes being worked on now',
      registers,
    }),
    handshakesWaiting: new Gauge({
      name: 'realtime_handshakes_waiting',
      help: 'Handshakes waiting for a place among those in progress',
      registers,
    }),
    handshakes: new Counter({
      name: 'realtime_handshakes_total',
      help: 'Handshakes by outcome: connected, a refusal code (overloaded, unauthorized…), or abandoned by the client',
      labelNames: ['outcome'],
      registers,
    }),
    handshakeMemberships: new Counter({
      name: 'realtime_handshake_memberships_total',
      help: "Where handshakes found the user's memberships: the membership directory or chat-api",
      labelNames: ['source'],
      registers,
    }),
    syncs: new Counter({
      name: 'realtime_syncs_total',
      help: 'chat:sync catch-ups answered, by who answered: the replica (its recent messages) or chat-api',
      labelNames: ['answered_by'],
      registers,
    }),
  };
}
