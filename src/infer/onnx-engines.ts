// Engines (src/infer/pipeline.ts) backed by the exported ONNX graphs on onnxruntime-node: no
// TensorFlow.js at inference. Sessions are created once and reused for every clip of a batch.
// Host-side work: tokenising, patchify/unpatchify (tokens.ts), RoPE tables, per-token clean
// flags and the latent scale (model latents = VAE mean × latentScale).
import type * as ort from 'onnxruntime-node';
import { BpeTokenizer } from '../model/tokenizer.js';
import { ropeTablesData } from '../model/rope.js';
import { absPosFeed } from '../model/abspos.js';
import type { Frame } from '../data/video.js';
import { createSession, floatOutput, run, type Session } from './ort.js';
import { loadModelDir, samplingShift, type ModelDir } from './model-dir.js';
import type { Engines, Shape5, TextBatch } from './pipeline.js';
import { gridPositionsData, patchifyData, unpatchifyData } from './tokens.js';

export interface OnnxEngines extends Engines {
  model: ModelDir;
  tokenizer: BpeTokenizer;
  release(): Promise<void>;
}

/** Open a model directory: validate config.json, load the tokenizer, create the four sessions. */
export async function openOnnxEngines(dir: string, opts: { threads?: number; providers?: readonly string[] } = {}): Promise<OnnxEngines> {
  const model = await loadModelDir(dir);
  const cfg = model.config;
  const tokenizer = await BpeTokenizer.load(model.files.tokenizer);
  const so = { threads: opts.threads, providers: opts.providers };
  const [dit, textEnc, dec, enc] = await Promise.all([createSession(model.files.dit, so), createSession(model.files.textEncoder, so), createSession(model.files.vaeDecoder, so), createSession(model.files.vaeEncoder, so)]);
  const st = cfg.vae.temporal_compression;
  const s = cfg.vae.spatial_compression;
  const C = cfg.vae.latent_channels;
  const dh = cfg.dit.hidden / cfg.dit.heads;
  const pt = cfg.dit.patch[0];
  const ropeCache = new Map<string, { cos: Float32Array; sin: Float32Array; pos: ReturnType<typeof absPosFeed> }>();
  const toFrames = (x: Float32Array, dims: number[]): Frame[] => {
    const [, F, H, W] = dims;
    const per = H * W * 3;
    return Array.from({ length: F }, (_, f) => {
      const data = new Uint8Array(per);
      for (let i = 0; i < per; i++) data[i] = Math.max(0, Math.min(255, Math.round((x[f * per + i] + 1) * 127.5)));
      return { width: W, height: H, data };
    });
  };

  return {
    model,
    tokenizer,
    geometry: { temporal: st, spatial: s, channels: C },
    objective:
      cfg.objective.kind === 'rf'
        ? { kind: 'rf', shift: (shape: Shape5) => samplingShift(cfg.objective, Math.ceil(shape[1] / pt) * Math.ceil(shape[2] / cfg.dit.patch[1]) * Math.ceil(shape[3] / cfg.dit.patch[2])) }
        : { kind: 'ddpm', ddpm: cfg.objective.ddpm },

    async encodeText(prompts: string[]): Promise<TextBatch> {
      const L = cfg.text.maxTokens;
      const { ids, mask } = tokenizer.encodeBatch(prompts, L);
      const out = await run(textEnc, { ids: { data: BigInt64Array.from(ids, (v) => BigInt(v)), dims: [prompts.length, L] }, mask: { data: mask, dims: [prompts.length, L] } });
      const emb = floatOutput(out.emb);
      return { emb: emb.data, mask, batch: prompts.length, length: L, width: emb.dims[2] };
    },

    async denoise(x: Float32Array, shape: Shape5, t: Float32Array, text: TextBatch, condFrames: Float32Array): Promise<Float32Array> {
      const [B, T] = shape;
      const { tokens, grid, n, p } = patchifyData(x, shape, cfg.dit.patch);
      const key = grid.join('x');
      let rope = ropeCache.get(key);
      if (!rope) {
        const positions = gridPositionsData(grid);
        ropeCache.set(key, (rope = { ...ropeTablesData(positions, dh, cfg.dit.rope), pos: absPosFeed(cfg.dit.absPos, positions) }));
      }
      const cond = new Float32Array(B * n * pt);
      const perT = grid[1] * grid[2];
      for (let b = 0; b < B; b++)
        for (let i = 0; i < n; i++)
          for (let a = 0; a < pt; a++) {
            const f = Math.floor(i / perT) * pt + a;
            cond[(b * n + i) * pt + a] = f < T ? condFrames[b * T + f] : 0;
          }
      // text rows: the pipeline passes [cond, uncond] prompts for a B = 2 batch
      const out = await run(dit, {
        tokens: { data: tokens, dims: [B, n, p] },
        cond: { data: cond, dims: [B, n, pt] },
        t: { data: t, dims: [B] },
        text: { data: text.emb.subarray(0, B * text.length * text.width), dims: [B, text.length, text.width] },
        text_mask: { data: text.mask.subarray(0, B * text.length), dims: [B, text.length] },
        rope_cos: { data: rope.cos, dims: [n, dh] },
        rope_sin: { data: rope.sin, dims: [n, dh] },
        ...rope.pos,
      });
      return unpatchifyData(floatOutput(out.out).data, shape, cfg.dit.patch);
    },

    async encode(frames: readonly Frame[]): Promise<{ z: Float32Array; shape: Shape5 }> {
      const { width: W, height: H } = frames[0];
      const x = new Float32Array(frames.length * H * W * 3);
      frames.forEach((f, i) => {
        for (let j = 0; j < f.data.length; j++) x[i * f.data.length + j] = f.data[j] / 127.5 - 1;
      });
      const mean = floatOutput((await run(enc, { x: { data: x, dims: [1, frames.length, H, W, 3] } })).mean);
      const z = mean.data.map((v) => v * cfg.latentScale);
      return { z, shape: mean.dims as Shape5 };
    },

    async decode(z: Float32Array, shape: Shape5): Promise<Frame[]> {
      const out = floatOutput((await run(dec, { z: { data: z.map((v) => v / cfg.latentScale), dims: [...shape] } })).frames);
      return toFrames(out.data, out.dims);
    },

    async release(): Promise<void> {
      await Promise.all([dit, textEnc, dec, enc].map((sess: Session) => (sess as ort.InferenceSession).release()));
    },
  };
}
