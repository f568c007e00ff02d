// TEST ONLY: a scripted OpenAI-compatible endpoint for the container test (deploy/compose.test-embedded-mongo.yml),
// the container counterpart of libs/testkit's openai-fake. Streams FAKE_TEXT word by word for
// POST /v1/chat/completions (with a usage chunk when asked), lists one model on GET /v1/models.
'use strict';
const { createServer } = require('node:http');

const TEXT = process.env.FAKE_TEXT || 'Summary from the container test model.';
const MODEL = 'fake-model';

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function completions(res, body) {
  const id = `chatcmpl-fake-${Date.now()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model || MODEL;
  const words = TEXT.match(/\S+\s*/g) || [TEXT];
  const usage = { prompt_tokens: 10, completion_tokens: words.length, total_tokens: 10 + words.length };
  if (!body.stream) {
    return json(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      usage,
      choices: [{ index: 0, message: { role: 'assistant', content: TEXT }, finish_reason: 'stop' }],
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (payload) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
  const chunk = (delta, finish) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  send(chunk({ role: 'assistant', content: '' }, null));
  for (const word of words) send(chunk({ content: word }, null));
  send(chunk({}, 'stop'));
  if (body.stream_options && body.stream_options.include_usage)
    send({ id, object: 'chat.completion.chunk', created, model, choices: [], usage });
  res.end('data: [DONE]\n\n');
}

createServer((req, res) => {
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (part) => (raw += part));
  req.on('end', () => {
    const path = (req.url || '/').split('?')[0];
    let body;
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return json(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error' } });
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') return completions(res, body);
    if (req.method === 'GET' && path === '/v1/models')
      return json(res, 200, {
        object: 'list',
        data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'fake' }],
      });
    return json(res, 404, { error: { message: `Unknown path ${path}`, type: 'invalid_request_error' } });
  });
}).listen(8000, '0.0.0.0', () =>
  process.stdout.write('{"service":"fake-model","port":8000,"msg":"listening"}\n'),
);
