// The openai captioner and upsampler against a local OpenAI-compatible server started here
// (127.0.0.1 only): success, model lookup, retry after 500, timeout, unreachable port, malformed
// JSON, non-retryable 400, the concurrency limit, and `caption` over a clip dataset.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAICaptioner } from '../../src/data/caption/openai.js';
import { apiBase } from '../../src/data/caption/openai-client.js';
import { runCaption } from '../../src/data/caption/run.js';
import { readClips, writeClips } from '../../src/data/clips.js';
import { writeVideo } from '../../src/data/video.js';
import { OpenAIUpsampler } from '../../src/data/upsample/openai.js';
import { movingSquare, tmpDir } from '../helpers.js';

interface Seen {
  method: string;
  url: string;
  auth?: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
type Handler = (req: Seen, res: http.ServerResponse) => void;

let handler: Handler = () => {};
const seen: Seen[] = [];
let inFlight = 0;
let maxInFlight = 0;
const server = http.createServer((req, res) => {
  let data = '';
  req.on('data', (d: Buffer) => (data += d.toString()));
  req.on('end', () => {
    const s: Seen = { method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body: data ? JSON.parse(data) : undefined };
    seen.push(s);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    handler(s, res);
  });
});
let base = '';

const reply = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
const ok = (text: string) => ({ choices: [{ index: 0, message: { role: 'assistant', content: text } }] });

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const clip = { id: 'c0', frames: movingSquare(8, 32, 24, { dx: 3 }), fps: 8, width: 32, height: 24, existingCaption: 'old caption' };
const fresh = () => {
  seen.length = 0;
  maxInFlight = 0;
};

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('openai captioner', () => {
  it('normalises base URLs with or without /v1', () => {
    expect(apiBase('http://h:1')).toBe('http://h:1/v1');
    expect(apiBase('http://h:1/')).toBe('http://h:1/v1');
    expect(apiBase('http://h:1/v1/')).toBe('http://h:1/v1');
  });

  it('sends K frames as image_url data URIs with the instruction and API key', async () => {
    fresh();
    handler = (_s, res) => reply(res, 200, ok('  A red square\nmoves right.  '));
    const prev = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-test';
    try {
      const cap = new OpenAICaptioner({ url: `${base}/v1`, model: 'vlm', frames: 3, instruction: 'Describe {frames} frames of {seconds} s.' });
      const r = await cap.caption(clip);
      expect(r).toEqual({ caption: 'A red square moves right.', source: 'openai:vlm' });
    } finally {
      if (prev === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = prev;
    }
    expect(seen).toHaveLength(1);
    const s = seen[0];
    expect(s.method).toBe('POST');
    expect(s.url).toBe('/v1/chat/completions');
    expect(s.auth).toBe('Bearer sk-test');
    expect(s.body.model).toBe('vlm');
    const parts = s.body.messages[0].content;
    expect(parts[0]).toEqual({ type: 'text', text: 'Describe 3 frames of 1.0 s.' });
    const images = parts.slice(1);
    expect(images).toHaveLength(3);
    for (const p of images) expect(p.image_url.url).toMatch(/^data:image\/jpeg;base64,\/9j\//);
  });

  it('looks the model up from /v1/models when none is named', async () => {
    fresh();
    handler = (s, res) => (s.url === '/v1/models' ? reply(res, 200, { object: 'list', data: [{ id: 'served-model' }] }) : reply(res, 200, ok('caption')));
    const cap = new OpenAICaptioner({ url: base });
    const r = await cap.caption(clip);
    expect(r.source).toBe('openai:served-model');
    expect(seen.map((s) => s.url)).toEqual(['/v1/models', '/v1/chat/completions']);
    expect(seen[1].body.model).toBe('served-model');
  });

  it('retries after a 500 with backoff and succeeds', async () => {
    fresh();
    let n = 0;
    handler = (_s, res) => (n++ === 0 ? reply(res, 500, { error: { message: 'overloaded' } }) : reply(res, 200, ok('second time lucky')));
    const cap = new OpenAICaptioner({ url: base, model: 'm', backoffMs: 20, retries: 2 });
    const t0 = Date.now();
    const r = await cap.caption(clip);
    expect(r.caption).toBe('second time lucky');
    expect(seen).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
  });

  it('gives up after retries on persistent 429 and keeps the old caption', async () => {
    fresh();
    handler = (_s, res) => reply(res, 429, { error: { message: 'rate limited' } });
    const r = await new OpenAICaptioner({ url: base, model: 'm', backoffMs: 5, retries: 2 }).caption(clip);
    expect(r.source).toBe('failed');
    expect(r.caption).toBe('old caption');
    expect(r.error).toMatch(/HTTP 429: rate limited \(gave up after 3 attempts\)/);
    expect(seen).toHaveLength(3);
  });

  it('times out a request that never answers', async () => {
    fresh();
    handler = () => {}; // hold the connection
    const r = await new OpenAICaptioner({ url: base, model: 'm', timeoutMs: 150, backoffMs: 5, retries: 1 }).caption(clip);
    expect(r.source).toBe('failed');
    expect(r.error).toMatch(/timed out after 150 ms \(gave up after 2 attempts\)/);
    server.closeAllConnections();
  });

  it('reports an unreachable port as failed with the reason', async () => {
    const port = await deadPort();
    const r = await new OpenAICaptioner({ url: `http://127.0.0.1:${port}`, model: 'm', backoffMs: 5, retries: 1 }).caption(clip);
    expect(r.source).toBe('failed');
    expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it('fails without retrying on malformed JSON and on a 400', async () => {
    fresh();
    handler = (_s, res) => reply(res, 200, '{"choices": [ oops');
    let r = await new OpenAICaptioner({ url: base, model: 'm', backoffMs: 5 }).caption(clip);
    expect(r.source).toBe('failed');
    expect(r.error).toMatch(/not valid JSON/);
    handler = (_s, res) => reply(res, 200, { choices: [] });
    r = await new OpenAICaptioner({ url: base, model: 'm', backoffMs: 5 }).caption(clip);
    expect(r.error).toMatch(/no choices\[0\]\.message\.content/);
    handler = (_s, res) => reply(res, 400, { error: { message: 'image too large' } });
    r = await new OpenAICaptioner({ url: base, model: 'm', backoffMs: 5 }).caption(clip);
    expect(r.error).toMatch(/HTTP 400: image too large/);
    expect(seen).toHaveLength(3);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    fresh();
    handler = (_s, res) => setTimeout(() => reply(res, 200, ok('x')), 40);
    const cap = new OpenAICaptioner({ url: base, model: 'm', concurrency: 2, frames: 1 });
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => cap.caption({ ...clip, id: `c${i}` })));
    expect(rs.every((r) => r.caption === 'x')).toBe(true);
    expect(seen).toHaveLength(6);
    expect(maxInFlight).toBe(2);
  });
});

describe('caption over a clip dataset', () => {
  const dir = tmpDir();
  beforeAll(async () => {
    await writeVideo(path.join(dir, 'a.mp4'), movingSquare(8, 32, 32, { dx: 3 }), { fps: 8 });
    await writeVideo(path.join(dir, 'b.mp4'), movingSquare(8, 32, 32, { dx: -3, x0: 24 }), { fps: 8 });
    await writeClips(dir, [
      { id: 'a', path: 'a.mp4', width: 32, height: 32, frames: 8, fps: 8, caption: 'old a' },
      { id: 'b', path: 'b.mp4', width: 32, height: 32, frames: 8, fps: 8 },
    ]);
  });

  it('writes captions and caption_source back to clips.jsonl', async () => {
    fresh();
    handler = (s, res) => reply(res, 200, ok(`caption with ${s.body.messages[0].content.length - 1} frames`));
    const sum = await runCaption({ data: dir, captioner: `openai:${base}#m`, frames: 2, concurrency: 2 });
    expect(sum).toMatchObject({ kind: 'clips', total: 2, ok: 2, failed: 0 });
    const clips = await readClips(dir);
    expect(clips.map((c) => [c.caption, c.caption_source])).toEqual([
      ['caption with 2 frames', 'openai:m'],
      ['caption with 2 frames', 'openai:m'],
    ]);
  });

  it('a shard only touches its clips; the builtin captioner measures real videos', async () => {
    const sum = await runCaption({ data: dir, captioner: 'builtin', shard: { index: 1, count: 2 } });
    expect(sum.total).toBe(1);
    const clips = await readClips(dir);
    expect(clips[0].caption_source).toBe('openai:m');
    expect(clips[1].caption_source).toBe('builtin:measured');
    expect(clips[1].caption).toMatch(/red square moves \w+ from right to left/);
  });

  it('marks every clip failed with the reason, keeps old captions, and throws when all failed', async () => {
    const port = await deadPort();
    await expect(runCaption({ data: dir, captioner: `openai:http://127.0.0.1:${port}#m`, retries: 0 })).rejects.toThrow(/all 2 clips failed \(first: a: .*ECONNREFUSED/);
    const lines = (await import('node:fs')).readFileSync(path.join(dir, 'clips.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.caption_source)).toEqual(['failed', 'failed']);
    expect(lines[0].caption).toBe('caption with 2 frames');
    expect(lines[0].caption_error).toMatch(/ECONNREFUSED/);
  });
});

describe('openai upsampler', () => {
  it('sends the prompt with the style instruction and examples, and returns the text', async () => {
    fresh();
    handler = (_s, res) => reply(res, 200, ok('"A small red ball bounces three times on a grey floor."'));
    const up = new OpenAIUpsampler({ url: base, model: 'llm', examples: ['A small blue box slides.'] });
    expect(await up.upsample('red ball bounce')).toBe('A small red ball bounces three times on a grey floor.');
    expect(seen[0].body.messages[0].role).toBe('system');
    expect(seen[0].body.messages[0].content).toMatch(/- A small blue box slides\./);
    expect(seen[0].body.messages[1]).toEqual({ role: 'user', content: 'red ball bounce' });
    await up.upsample('red ball bounce', { frames: 17, fps: 8 });
    expect(seen[1].body.messages[1]).toEqual({ role: 'user', content: 'red ball bounce\n\n(The clip lasts 2.1 seconds.)' });
    await expect(up.upsample('  ')).rejects.toThrow('--prompt: empty prompt');
    handler = (_s, res) => reply(res, 503, 'down');
    await expect(new OpenAIUpsampler({ url: base, model: 'llm', retries: 0 }).upsample('x')).rejects.toThrow(/prompt upsampling via openai:.* failed: .*HTTP 503: down/);
  });
});
