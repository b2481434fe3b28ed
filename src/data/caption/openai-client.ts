// A small client for OpenAI-compatible chat completions endpoints (OpenAI API reference,
// "Create chat completion": POST /v1/chat/completions with {model, messages}; served also by
// vLLM, llama.cpp server, Ollama and hosted APIs). Per-request timeout, retries with exponential
// backoff on 429 / 5xx / network errors / timeouts (honouring Retry-After), and a concurrency
// limit shared by every caller of one client. API key from OPENAI_API_KEY when set.

export type ChatContent = string | Array<{ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }>;
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: ChatContent;
}

export interface ChatClientOptions {
  /** Base URL, with or without a trailing /v1. */
  url: string;
  /** Model name; when absent the first model listed by GET /v1/models is used. */
  model?: string;
  apiKey?: string;
  timeoutMs?: number;
  retries?: number;
  /** First backoff delay in ms (doubles each retry). */
  backoffMs?: number;
  concurrency?: number;
  maxTokens?: number;
  temperature?: number;
}

/** A request that failed for good (after retries); `message` is one line. */
export class ChatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChatError';
  }
}

class Transient extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** `http://h:p`, `http://h:p/`, `http://h:p/v1` → `http://h:p/v1`. */
export function apiBase(url: string): string {
  const u = url.replace(/\/+$/, '');
  return /\/v1$/.test(u) ? u : `${u}/v1`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ChatClient {
  readonly base: string;
  private model: string | undefined;
  private modelLookup: Promise<string> | null = null;
  private readonly opts: Required<Omit<ChatClientOptions, 'model' | 'apiKey' | 'url'>> & { apiKey?: string };
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(opts: ChatClientOptions) {
    this.base = apiBase(opts.url);
    this.model = opts.model;
    this.opts = {
      apiKey: opts.apiKey ?? process.env.OPENAI_API_KEY ?? undefined,
      timeoutMs: opts.timeoutMs ?? 120_000,
      retries: opts.retries ?? 4,
      backoffMs: opts.backoffMs ?? 1000,
      concurrency: Math.max(1, opts.concurrency ?? 4),
      maxTokens: opts.maxTokens ?? 300,
      temperature: opts.temperature ?? 0,
    };
  }

  /** The model name in use (looked up once from /v1/models when not given). */
  async modelName(): Promise<string> {
    if (this.model) return this.model;
    this.modelLookup ??= this.withRetries(async () => {
      const body = await this.request('GET', `${this.base}/models`);
      const data = (body as { data?: Array<{ id?: unknown }> }).data;
      const id = Array.isArray(data) ? data.find((m) => typeof m?.id === 'string')?.id : undefined;
      if (typeof id !== 'string') throw new ChatError(`${this.base}/models lists no models; name one with openai:URL#model`);
      return id;
    }).then(
      (id) => (this.model = id),
      (e: unknown) => {
        this.modelLookup = null;
        throw e;
      },
    );
    return this.modelLookup;
  }

  /** Send one chat completion and return the assistant's text. Throws ChatError. */
  async complete(messages: ChatMessage[]): Promise<string> {
    const model = await this.modelName();
    await this.acquire();
    try {
      return await this.withRetries(async () => {
        const body = await this.request('POST', `${this.base}/chat/completions`, {
          model,
          messages,
          max_tokens: this.opts.maxTokens,
          temperature: this.opts.temperature,
        });
        const choice = (body as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0];
        const content = choice?.message?.content;
        if (typeof content !== 'string') throw new ChatError('response has no choices[0].message.content string');
        const text = content.trim();
        if (!text) throw new ChatError('the model returned an empty message');
        return text;
      });
    } finally {
      this.release();
    }
  }

  private async acquire(): Promise<void> {
    if (this.active < this.opts.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private async withRetries<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        if (attempt >= this.opts.retries) throw new ChatError(`${e.message} (gave up after ${attempt + 1} attempt${attempt ? 's' : ''})`);
        const backoff = this.opts.backoffMs * 2 ** attempt;
        await sleep(Math.min(60_000, Math.max(backoff, e.retryAfterMs ?? 0)));
      }
    }
  }

  /** One HTTP exchange; Transient for retryable failures, ChatError for final ones. */
  private async request(method: 'GET' | 'POST', url: string, json?: unknown): Promise<unknown> {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.opts.timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (json !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    try {
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body: json === undefined ? undefined : JSON.stringify(json), signal: ctrl.signal });
      } catch (e) {
        if (ctrl.signal.aborted) throw new Transient(`${url}: timed out after ${this.opts.timeoutMs} ms`);
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new Transient(`${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
      }
      let text: string;
      try {
        text = await res.text();
      } catch {
        if (ctrl.signal.aborted) throw new Transient(`${url}: timed out after ${this.opts.timeoutMs} ms`);
        throw new Transient(`${url}: connection lost while reading the response`);
      }
      if (res.status === 429 || res.status >= 500) {
        const ra = Number(res.headers.get('retry-after'));
        throw new Transient(`${url}: HTTP ${res.status}${snippet(text)}`, Number.isFinite(ra) && ra > 0 ? ra * 1000 : undefined);
      }
      if (!res.ok) throw new ChatError(`${url}: HTTP ${res.status}${snippet(text)}`);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new ChatError(`${url}: response is not valid JSON${snippet(text)}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

function snippet(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  if (!t) return '';
  let msg = t;
  try {
    const j = JSON.parse(t) as { error?: { message?: unknown } | string };
    const m = typeof j.error === 'string' ? j.error : j.error?.message;
    if (typeof m === 'string') msg = m;
  } catch {
    /* not JSON: show the raw start */
  }
  return `: ${msg.length > 160 ? `${msg.slice(0, 160)}…` : msg}`;
}
