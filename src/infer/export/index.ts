// `spacetime export`: a training checkpoint (DiT + caption encoder + tokenizer, rebuilt from its
// own config.json) and a VAE checkpoint → an exported model directory (DESIGN.md "Exported
// model"): dit.onnx, text_encoder.onnx, vae_decoder.onnx, vae_encoder.onnx, tokenizer.json,
// config.json. Written into `<out>.tmp/` and renamed, so a failed export leaves nothing.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadVAE } from '../../model/vae.js';
import { loadSystem, TOKENIZER_FILE } from '../../train/build.js';
import { produceDirAtomic } from '../../util/atomic.js';
import { FlagError } from '../../util/errors.js';
import { hashModelFiles, MODEL_FILES, MODEL_FORMAT, type ExportedConfig } from '../model-dir.js';
import { buildDiT } from './dit.js';
import { buildTextEncoder } from './text-encoder.js';
import { buildVaeDecoder, buildVaeEncoder, paramReader } from './vae.js';

export interface ExportOptions {
  ckpt: string;
  out: string;
  /** VAE checkpoint (default: the training config's log.previewVae). */
  vae?: string;
  ema?: boolean;
  float16?: boolean;
  /** Generation defaults stored in config.json. */
  frames?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Default guidance scale and sampling steps (else the training config's `sample`). */
  cfg?: number;
  steps?: number;
  /** Store initializers of at least this many bytes as ONNX external data (always above 2 GB). */
  externalThreshold?: number;
}

export interface ExportResult {
  dir: string;
  config: ExportedConfig;
  bytes: Record<string, number>;
}

/** An earlier export (config.json of our format) may be replaced; any other non-empty directory is refused. */
async function isExportedModelDir(dir: string): Promise<boolean> {
  try {
    return (JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as { format?: string }).format === MODEL_FORMAT;
  } catch {
    return false;
  }
}

export async function exportModel(opts: ExportOptions): Promise<ExportResult> {
  const { system, ck } = await loadSystem(opts.ckpt, { ema: opts.ema ?? false });
  try {
    const cfg = ck.config;
    const vaePath = opts.vae ?? cfg.log.previewVae;
    if (!vaePath) throw new FlagError('vae', 'the checkpoint names no VAE (log.previewVae): pass --vae CKPT');
    const { vae } = await loadVAE(vaePath);
    try {
      if (vae.config.latent_channels !== cfg.model.latentChannels) throw new FlagError('vae', `${vaePath}: ${vae.config.latent_channels} latent channels, the DiT expects ${cfg.model.latentChannels}`);
      if (cfg.data.latentScale === 'auto') throw new FlagError('ckpt', `${ck.dir}: latentScale was never resolved (not a trained checkpoint)`);
      const st = vae.config.temporal_compression;
      const sp = vae.config.spatial_compression;
      const f16 = { float16: Boolean(opts.float16) };
      // generation defaults: the training data's most common latent shape and fps (state.json)
      const st8 = ck.state as { latentShape?: [number, number, number, number]; fps?: number };
      const [lt, lh, lw] = st8.latentShape ?? [3, 8, 8];
      const bytes: Record<string, number> = {};
      const config: ExportedConfig = {
        format: MODEL_FORMAT,
        model: { id: `${path.basename(path.dirname(ck.dir))}/${path.basename(ck.dir)}${opts.ema ? '-ema' : ''}`, hash: '', step: ck.step, ema: Boolean(opts.ema) },
        dit: cfg.model,
        text: { maxTokens: cfg.text.maxTokens, width: cfg.model.textWidth, vocabSize: system.tokenizer.vocabSize },
        vae: vae.config,
        latentScale: cfg.data.latentScale,
        objective: cfg.objective,
        defaults: {
          sampler: cfg.sample.sampler,
          steps: opts.steps ?? cfg.sample.steps,
          cfg: opts.cfg ?? cfg.sample.cfg,
          frames: opts.frames ?? 1 + (lt - 1) * st,
          width: opts.width ?? lw * sp,
          height: opts.height ?? lh * sp,
          fps: opts.fps ?? st8.fps ?? 12,
        },
        float16: Boolean(opts.float16),
      };
      await produceDirAtomic(opts.out, async (tmp) => {
        const save = async (file: string, g: { save(f: string, o: { externalThreshold?: number }): Promise<{ bytes: number; externalBytes: number }> }) => {
          const r = await g.save(path.join(tmp, file), { externalThreshold: opts.externalThreshold });
          bytes[file] = r.bytes + r.externalBytes;
        };
        await save(MODEL_FILES.dit, buildDiT(cfg.model, paramReader(system.dit.params), f16));
        await save(MODEL_FILES.textEncoder, buildTextEncoder(system.text.config, paramReader(system.text.params), f16));
        await save(MODEL_FILES.vaeDecoder, buildVaeDecoder(vae.config, paramReader(vae.params), f16));
        await save(MODEL_FILES.vaeEncoder, buildVaeEncoder(vae.config, paramReader(vae.params), f16));
        await fs.copyFile(path.join(ck.dir, TOKENIZER_FILE), path.join(tmp, MODEL_FILES.tokenizer));
        config.model.hash = await hashModelFiles(tmp);
        await fs.writeFile(path.join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
      }, { replaceable: isExportedModelDir });
      return { dir: opts.out, config, bytes };
    } finally {
      vae.dispose();
    }
  } finally {
    system.dispose();
  }
}
