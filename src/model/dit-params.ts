// The DiT's parameters: names (= safetensors keys), shapes and initialisers, in one list that
// createDiT, loadDiT and the ONNX exporter share. Weights are (in, out): y = x·W + b.
// Init follows DiT (Peebles & Xie 2023): Xavier-uniform linears and zero biases, N(0, 0.02) for
// the timestep MLP, zero adaLN modulation and zero final projection (adaLN-Zero), RMSNorm gains 1.
//
// D = hidden, dh = D / heads, E = textWidth, F = freqDim, Pin = pt·ph·pw·(C + 1) with
// condMode 'channel' (the clean-frame mask is an extra input channel) else pt·ph·pw·C,
// Pout = pt·ph·pw·C.
//   x_embed.{weight (Pin, D), bias (D)}          patch embedding
//   cond_embed (D)                               only condMode 'embedding': added × clean fraction
//   pos_embed.weight (3K, D)                     only absPos 'fractional': fractional position features (abspos.ts)
//   t_embed.fc1.{weight (F, D), bias}, t_embed.fc2.{weight (D, D), bias}
//   text_pool.{weight (E, D), bias}              only pooledText, textPool 'mean' or 'mean+first'
//   text_first.{weight (E, D), bias}             only pooledText, textPool 'first' or 'mean+first'
//   y_embed.fc1.{weight (E, D), bias}, y_embed.fc2.{weight (D, D), bias}   caption projection
//   blocks.i.adaLN.{weight (D, 6D), bias (6D)}   chunks [shift, scale, gate]_attn, [shift, scale, gate]_mlp
//   blocks.i.attn.{q,k,v,proj}.{weight (D, D), bias (D)}, blocks.i.attn.{q,k}_norm.weight (dh)
//   blocks.i.cross.{q,k,v,proj}.{weight (D, D), bias (D)}, blocks.i.cross.{q,k}_norm.weight (dh)
//   blocks.i.mlp.fc1.{weight (D, rD), bias}, blocks.i.mlp.fc2.{weight (rD, D), bias}
//   final.adaLN.{weight (D, 2D), bias (2D)}      chunks [shift, scale]
//   final.linear.{weight (D, Pout), bias (Pout)}
import { ABS_POS_FEATURES } from './abspos.js';
import type { ParamSpec } from './params.js';
import { textPoolParts, type DiTConfig } from './presets.js';

/** Patch input width (with the mask channel in 'channel' mode) and output width. */
export function patchWidths(cfg: DiTConfig): { pin: number; pout: number } {
  const v = cfg.patch[0] * cfg.patch[1] * cfg.patch[2];
  return { pin: v * (cfg.latentChannels + (cfg.condMode === 'channel' ? 1 : 0)), pout: v * cfg.latentChannels };
}

/** Every parameter of a DiT with this config, in a fixed order. */
export function ditParamSpecs(cfg: DiTConfig): ParamSpec[] {
  const d = cfg.hidden;
  const dh = d / cfg.heads;
  const r = Math.round(d * cfg.mlpRatio);
  const e = cfg.textWidth;
  const { pin, pout } = patchWidths(cfg);
  const specs: ParamSpec[] = [];
  const lin = (name: string, i: number, o: number, init: ParamSpec['init'] = 'xavier') => {
    specs.push({ name: `${name}.weight`, shape: [i, o], init });
    specs.push({ name: `${name}.bias`, shape: [o], init: 'zeros' });
  };
  lin('x_embed', pin, d);
  if (cfg.condMode === 'embedding') specs.push({ name: 'cond_embed', shape: [d], init: 'normal02' });
  // Xavier like x_embed, so that at init the position term is as large as the patch embedding of
  // pure noise (rms ≈ 0.4 against ≈ 0.6 for hidden 128, 2×2×8 patches). At 0.02 (the first form)
  // it was ≈ 0.07, buried under the noise at t ≈ 1 where the layout is chosen; a toy whose mean clip
  // depends on position then reached a t = 1 loss of 0.77 after 800 steps instead of 0.49.
  if (cfg.absPos === 'fractional') specs.push({ name: 'pos_embed.weight', shape: [ABS_POS_FEATURES, d], init: 'xavier' });
  lin('t_embed.fc1', cfg.freqDim, d, 'normal02');
  lin('t_embed.fc2', d, d, 'normal02');
  const pool = textPoolParts(cfg.textPool);
  if (cfg.pooledText && pool.mean) lin('text_pool', e, d);
  if (cfg.pooledText && pool.first) lin('text_first', e, d);
  lin('y_embed.fc1', e, d);
  lin('y_embed.fc2', d, d);
  for (let i = 0; i < cfg.depth; i++) {
    const p = `blocks.${i}`;
    lin(`${p}.adaLN`, d, 6 * d, 'zeros');
    for (const part of ['attn', 'cross']) {
      for (const m of ['q', 'k', 'v', 'proj']) lin(`${p}.${part}.${m}`, d, d);
      if (cfg.qkNorm) {
        specs.push({ name: `${p}.${part}.q_norm.weight`, shape: [dh], init: 'ones' });
        specs.push({ name: `${p}.${part}.k_norm.weight`, shape: [dh], init: 'ones' });
      }
    }
    lin(`${p}.mlp.fc1`, d, r);
    lin(`${p}.mlp.fc2`, r, d);
  }
  lin('final.adaLN', d, 2 * d, 'zeros');
  lin('final.linear', d, pout, 'zeros');
  return specs;
}
