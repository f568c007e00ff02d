import OpenAI from 'openai';

/**
 * The provider alone, through the official SDK as the assistant calls it: milliseconds from each streaming call to
 * its first content chunk, one per call, in order (the baseline the benches divide the stack's first token by).
 */
export async function directFirstChunkMs(baseUrl: string, calls: number): Promise<number[]> {
  const client = new OpenAI({ baseURL: baseUrl, apiKey: 'direct', maxRetries: 0 });
  const times: number[] = [];
  for (let i = 0; i < calls; i += 1) {
    const started = performance.now();
    const stream = await client.chat.completions.create({
      model: 'fake-model',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) {
        times.push(performance.now() - started);
        break;
      }
    }
    stream.controller.abort();
  }
  return times;
}
