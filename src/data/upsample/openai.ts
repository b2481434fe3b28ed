// The openai prompt upsampler: a text-only request to an OpenAI-compatible chat completions
// endpoint (same client as the openai captioner), with the training caption style described in the
// system message and, when a dataset was given, a few of its captions as examples. The clip's
// duration, when the generator knows it, follows the prompt in parentheses.
import { FlagError, SpacetimeError } from '../../util/errors.js';
import { ChatClient, type ChatMessage } from '../caption/openai-client.js';
import { durationSentence } from '../caption/style.js';
import type { PromptUpsampler, UpsampleContext } from './upsampler.js';

export const DEFAULT_UPSAMPLE_INSTRUCTION =
  'You rewrite short prompts for a text-to-video model into one detailed caption in the style of its training captions. ' +
  'Keep every object, colour, size, motion, direction and setting the prompt states; add plausible concrete details ' +
  '(colours, sizes, starting positions, how things move, the background, the camera) for anything left unstated. ' +
  'Answer with the caption only, in two to four sentences, without quotes or preamble.';

export class OpenAIUpsampler implements PromptUpsampler {
  readonly name: string;
  readonly client: ChatClient;
  private readonly instruction: string;
  private readonly examples: string[];

  constructor(opts: { url: string; model?: string; examples?: string[]; instruction?: string; timeoutMs?: number; retries?: number; backoffMs?: number; apiKey?: string }) {
    this.client = new ChatClient({ url: opts.url, model: opts.model, apiKey: opts.apiKey, timeoutMs: opts.timeoutMs ?? 60_000, retries: opts.retries, backoffMs: opts.backoffMs, concurrency: 1, maxTokens: 250 });
    this.name = `openai:${this.client.base}${opts.model ? `#${opts.model}` : ''}`;
    this.instruction = opts.instruction ?? DEFAULT_UPSAMPLE_INSTRUCTION;
    this.examples = opts.examples ?? [];
  }

  async upsample(prompt: string, context: UpsampleContext = {}): Promise<string> {
    const p = prompt.trim();
    if (!p) throw new FlagError('prompt', 'empty prompt');
    const system = this.examples.length ? `${this.instruction}\n\nExamples of training captions:\n${this.examples.map((e) => `- ${e}`).join('\n')}` : this.instruction;
    const messages: ChatMessage[] = [
      { role: 'system', content: system },
      { role: 'user', content: context.frames && context.fps ? `${p}\n\n(${durationSentence(context.frames, context.fps)})` : p },
    ];
    try {
      const text = (await this.client.complete(messages)).replace(/\s+/g, ' ').trim();
      return text.replace(/^["“']+|["”']+$/g, '');
    } catch (e) {
      throw new SpacetimeError(`prompt upsampling via ${this.name} failed: ${(e as Error).message}`);
    }
  }
}
