// Prompt upsampling (Sora technical report: a language model turns short user prompts into the
// long descriptive captions the model was trained on). `builtin` expands deterministically from the
// dataset's caption vocabulary; `openai:URL[#model]` asks an OpenAI-compatible chat endpoint.
import { FlagError } from '../../util/errors.js';
import { parseModelSpec } from '../caption/captioner.js';

/** What the generator knows about the clip to be made (the builtin upsampler states its duration, as training captions do). */
export interface UpsampleContext {
  frames?: number;
  fps?: number;
}

export interface PromptUpsampler {
  readonly name: string;
  /** The expanded prompt; FlagError('prompt', 'empty prompt') for an empty one. */
  upsample(prompt: string, context?: UpsampleContext): Promise<string>;
}

export interface UpsamplerOptions {
  /** Caption vocabulary source: clip dataset, shard directory, or caption file (builtin, and few-shot examples for openai). */
  vocabulary?: string;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  instruction?: string;
}

/** Build the upsampler named by `spec` (`builtin` or `openai:URL[#model]`). */
export async function createUpsampler(spec: string, opts: UpsamplerOptions = {}): Promise<PromptUpsampler> {
  const p = parseModelSpec(spec, 'upsampler');
  const { defaultVocabulary, loadVocabulary } = await import('./vocabulary.js');
  const vocab = opts.vocabulary ? await loadVocabulary(opts.vocabulary) : defaultVocabulary();
  if (p.kind === 'builtin') {
    const { BuiltinUpsampler } = await import('./builtin.js');
    return new BuiltinUpsampler(vocab);
  }
  if (p.kind === 'openai') {
    const { OpenAIUpsampler } = await import('./openai.js');
    return new OpenAIUpsampler({ url: p.url, model: p.model, examples: vocab.examples, ...opts });
  }
  throw new FlagError('upsampler', 'onnx: upsamplers are not supported (use builtin or openai:URL[#model])');
}
