// The openai captioner: K evenly spaced frames of a clip are sent as image_url data URIs (JPEG via
// sharp) to an OpenAI-compatible chat completions endpoint serving a vision-language model (OpenAI
// API reference, "Vision": content parts of type image_url with a base64 data URL). A clip whose
// request still fails after retries is reported as `failed` with the reason and its old caption.
import { encodeImage, resizeFrame } from '../image.js';
import type { Frame } from '../video.js';
import type { CaptionInput, CaptionResult, Captioner, CaptionerOptions } from './captioner.js';
import { sampleFrames } from './captioner.js';
import { ChatClient, type ChatMessage } from './openai-client.js';

export const DEFAULT_INSTRUCTION =
  'The images are {frames} frames sampled in order from one video clip of {seconds} seconds. ' +
  'Write one detailed paragraph describing the video as a whole: every object with its colour, shape, size and position, ' +
  'how each object moves and interacts, the background and setting, the camera motion, and the lighting. ' +
  'Describe only what is visible. Do not mention frames or images; describe it as a video.';

/** Longer side of the images sent (keeps requests small). */
const MAX_SIDE = 512;

async function toDataUri(f: Frame): Promise<string> {
  const scale = Math.min(1, MAX_SIDE / Math.max(f.width, f.height));
  const g = scale < 1 ? await resizeFrame(f, Math.max(1, Math.round(f.width * scale)), Math.max(1, Math.round(f.height * scale))) : f;
  return `data:image/jpeg;base64,${(await encodeImage(g, 'jpeg')).toString('base64')}`;
}

export class OpenAICaptioner implements Captioner {
  readonly name: string;
  readonly client: ChatClient;
  private readonly frames: number;
  private readonly instruction: string;

  constructor(opts: CaptionerOptions & { url: string; model?: string; backoffMs?: number; apiKey?: string }) {
    this.client = new ChatClient({ url: opts.url, model: opts.model, apiKey: opts.apiKey, timeoutMs: opts.timeoutMs, retries: opts.retries, backoffMs: opts.backoffMs, concurrency: opts.concurrency });
    this.name = `openai:${this.client.base}${opts.model ? `#${opts.model}` : ''}`;
    this.frames = Math.max(1, opts.frames ?? 4);
    this.instruction = opts.instruction ?? DEFAULT_INSTRUCTION;
  }

  async caption(clip: CaptionInput): Promise<CaptionResult> {
    const old = clip.existingCaption ?? '';
    try {
      const frames = await sampleFrames(clip, this.frames);
      if (frames.length === 0) return { caption: old, source: 'failed', error: 'no frames decoded' };
      const n = clip.frameCount ?? (Array.isArray(clip.frames) ? clip.frames.length : frames.length);
      const text = this.instruction.replaceAll('{frames}', String(frames.length)).replaceAll('{seconds}', (n / Math.max(clip.fps, 1e-6)).toFixed(1));
      const images = await Promise.all(frames.map(toDataUri));
      const messages: ChatMessage[] = [{ role: 'user', content: [{ type: 'text', text }, ...images.map((url) => ({ type: 'image_url' as const, image_url: { url } }))] }];
      const caption = (await this.client.complete(messages)).replace(/\s+/g, ' ').trim();
      return { caption, source: `openai:${await this.client.modelName()}` };
    } catch (e) {
      return { caption: old, source: 'failed', error: (e as Error).message.replace(/\s*\n\s*/g, ' ') };
    }
  }
}
