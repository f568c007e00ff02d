// Artillery hooks shared by the scenarios (CommonJS: artillery loads processors with require).
'use strict';
const { randomUUID } = require('node:crypto');

/** afterResponse: keeps the access token from the `token` cookie register/login set (for Bearer and socket auth). */
function captureToken(req, res, context, events, next) {
  const setCookie = res.headers['set-cookie'] || [];
  for (const header of Array.isArray(setCookie) ? setCookie : [setCookie]) {
    const match = /^token=([^;]+)/.exec(header);
    if (match) context.vars.token = match[1];
  }
  if (!context.vars.token) events.emit('counter', 'cohort.no_token_cookie', 1);
  next();
}

/** A fresh clientMsgId per send (scenario variables are fixed per virtual user). */
function newClientMsgId(context, events, next) {
  context.vars.clientMsgId = randomUUID();
  next();
}

/**
 * Before a chat:send over the socket: remember when it left and listen for its own `chat:new` (the sender's
 * sockets receive their own messages too), so send → receive through chat-api, Redis and the replica is timed.
 */
function armReceive(context, events, next) {
  const socket = context.sockets && context.sockets[''];
  if (!socket) return next(new Error('armReceive needs an open socket (put it after the first emit)'));
  const clientMsgId = randomUUID();
  context.vars.clientMsgId = clientMsgId;
  const sentAt = process.hrtime.bigint();
  context.cohortReceived = new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('chat:new', onMessage);
      resolve(false);
    }, 5000);
    function onMessage(payload) {
      if (!payload || !payload.message || payload.message.clientMsgId !== clientMsgId) return;
      clearTimeout(timer);
      socket.off('chat:new', onMessage);
      events.emit('histogram', 'cohort.send_to_receive', Number(process.hrtime.bigint() - sentAt) / 1e6);
      resolve(true);
    }
    socket.on('chat:new', onMessage);
  });
  next();
}

/** After the chat:send ack: wait for the message to arrive as `chat:new`; count it received or missed. */
function awaitReceive(context, events, next) {
  const received = context.cohortReceived;
  delete context.cohortReceived;
  Promise.resolve(received).then((ok) => {
    events.emit('counter', ok ? 'cohort.received' : 'cohort.receive_missed', 1);
    next();
  });
}

module.exports = { captureToken, newClientMsgId, armReceive, awaitReceive };
