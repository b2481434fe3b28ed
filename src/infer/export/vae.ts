// ONNX graphs of the video VAE's decoder and encoder (opset 17), built from the parameters and
// the exact forward documented in src/model/vae.ts. Inside the graph the layout is
// (B, C, T, H, W) so both factorised convolutions are plain ONNX 3-D Convs: spatial 3×3 as a
// (1, 3, 3) kernel and the causal temporal (kt, 1) conv as a (kt, 1, 1) kernel with kt − 1
// frames of zero padding in the past only. Per-frame group norm regroups (B, T, G, ·) with
// dynamic shapes. Graph I/O keeps the repo's channels-last layout:
//   vae_decoder: z (B, T', H', W', C) → frames (B, 1 + (T'−1)·s_t, H'·s, W'·s, 3) in ≈[−1, 1]
//   vae_encoder: x (B, T, H, W, 3), T ≡ 1 (mod s_t), H, W multiples of s → mean (B, T', H', W', C)
import type * as tf from '@tensorflow/tfjs-core';
import { GraphBuilder } from '../onnx/builder.js';
import { vaeLayout, type VAEConfig } from '../../model/vae.js';
import type { ParamStore } from '../../model/types.js';
import { SpacetimeError } from '../../util/errors.js';

type Weights = (name: string) => { data: Float32Array; shape: number[] };

export function paramReader(params: ParamStore): Weights {
  return (name) => {
    const v = params.get(name) as tf.Variable | undefined;
    if (!v) throw new SpacetimeError(`export: missing parameter ${name}`);
    return { data: v.dataSync() as Float32Array, shape: v.shape };
  };
}

/** HWIO (kh, kw, Ci, Co) → ONNX (Co, Ci, kt, kh, kw) with the kernel on the given axes. */
function convWeight(w: { data: Float32Array; shape: number[] }, temporal: boolean): { data: Float32Array; dims: number[] } {
  const [kh, kw, ci, co] = w.shape;
  const out = new Float32Array(w.data.length);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + a) * kw + b] = w.data[((a * kw + b) * ci + i) * co + o];
  // spatial: (Co, Ci, 1, kh, kw); temporal (kt = kh, kw = 1): (Co, Ci, kt, 1, 1) — same memory order
  return { data: out, dims: temporal ? [co, ci, kh, 1, 1] : [co, ci, 1, kh, kw] };
}

class VaeGraph {
  constructor(
    readonly g: GraphBuilder,
    readonly W: Weights,
    readonly cfg: VAEConfig,
    readonly f16: boolean,
  ) {}

  private weight(name: string, data: Float32Array, dims: number[]): string {
    return this.g.initializer(name, data, dims, { float16: this.f16 });
  }

  private castIn(x: string): string {
    return this.f16 ? this.g.op('Cast', [x], { to: 1 }) : x;
  }

  conv(x: string, name: string, kind: 'spatial' | 'temporal', stride = 1): string {
    const w = this.W(`${name}.weight`);
    const b = this.W(`${name}.bias`);
    const cw = convWeight(w, kind === 'temporal');
    const k = w.shape[0];
    const wn = this.castIn(this.weight(`${name}.weight`, cw.data, cw.dims));
    const bn = this.castIn(this.weight(`${name}.bias`, b.data, [b.data.length]));
    let pads: number[];
    let strides: number[];
    if (kind === 'temporal') {
      pads = [k - 1, 0, 0, 0, 0, 0];
      strides = [stride, 1, 1];
    } else {
      const lo = stride === 1 ? (k - 1) >> 1 : 0;
      const hi = stride === 1 ? k - 1 - lo : 1;
      pads = [0, lo, lo, 0, hi, hi];
      strides = [1, stride, stride];
    }
    return this.g.op('Conv', [x, wn, bn], { pads, strides });
  }

  silu(x: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [x])]);
  }

  /** Per-frame group norm on (B, C, T, H, W). */
  groupNorm(x: string, name: string, c: number): string {
    const g = this.g;
    const G = Math.min(this.cfg.groups, c);
    const btchw = g.op('Transpose', [x], { perm: [0, 2, 1, 3, 4] }); // (B, T, C, H, W)
    const shape = g.op('Shape', [btchw]);
    const grouped = g.op('Reshape', [btchw, g.ints([0, 0, G, -1])]); // (B, T, G, C/G·H·W)
    const mean = g.op('ReduceMean', [grouped], { axes: [3], keepdims: 1 }); // (B, T, G, 1)
    const d = g.op('Sub', [grouped, mean]);
    const v = g.op('ReduceMean', [g.op('Mul', [d, d])], { axes: [3], keepdims: 1 });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [v, g.constant([this.cfg.eps], [])])])]);
    const y = g.op('Reshape', [g.op('Mul', [d, inv]), shape]); // (B, T, C, H, W)
    const back = g.op('Transpose', [y], { perm: [0, 2, 1, 3, 4] }); // (B, C, T, H, W)
    const wt = this.W(`${name}.weight`);
    const bs = this.W(`${name}.bias`);
    const wn = this.castIn(this.weight(`${name}.weight`, wt.data, [1, c, 1, 1, 1]));
    const bn = this.castIn(this.weight(`${name}.bias`, bs.data, [1, c, 1, 1, 1]));
    return g.op('Add', [g.op('Mul', [back, wn]), bn]);
  }

  resBlock(x: string, name: string, ci: number, co: number): string {
    let h = this.conv(this.silu(this.groupNorm(x, `${name}.norm1`, ci)), `${name}.conv1`, 'spatial');
    h = this.conv(this.silu(this.groupNorm(h, `${name}.norm2`, co)), `${name}.tconv`, 'temporal');
    const skip = ci !== co ? this.conv(x, `${name}.skip`, 'spatial') : x;
    return this.g.op('Add', [skip, h]);
  }

  up2x(x: string): string {
    return this.g.op('Resize', [x, '', this.g.constant([1, 1, 1, 2, 2], [5])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  }

  /** The shortcut's decoder half on (B, c, T', H', W'): nearest ×(st, s, s), the first st − 1 frames dropped (vae.ts blockRepeat). */
  blockRepeat(x: string): string {
    const s = this.cfg.spatial_compression;
    const st = this.cfg.temporal_compression;
    const r = this.g.op('Resize', [x, '', this.g.constant([1, 1, st, s, s], [5])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    return st > 1 ? this.g.op('Slice', [r, this.g.ints([st - 1]), this.g.ints([2 ** 31 - 1]), this.g.ints([2])]) : r;
  }

  /**
   * The shortcut's encoder half on (B, 3, T, H, W), T ≡ 1 (mod st): cell means (B, 3, T', H', W')
   * (vae.ts blockAverage). Frame 0 edge-padded to st frames makes the causal grouping one
   * AveragePool (and keeps a single image valid).
   */
  blockAverage(x: string): string {
    const g = this.g;
    const s = this.cfg.spatial_compression;
    const st = this.cfg.temporal_compression;
    const padded = st > 1 ? g.op('Pad', [x, g.ints([0, 0, st - 1, 0, 0, 0, 0, 0, 0, 0])], { mode: 'edge' }) : x; // (B, 3, T + st − 1, H, W)
    return g.op('AveragePool', [padded], { kernel_shape: [st, s, s], strides: [st, s, s] }); // (B, 3, T', H', W')
  }

  upTimeCausal(x: string): string {
    const r = this.g.op('Resize', [x, '', this.g.constant([1, 1, 2, 1, 1], [5])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    return this.g.op('Slice', [r, this.g.ints([1]), this.g.ints([2 ** 31 - 1]), this.g.ints([2])]); // drop the first frame copy
  }
}


/** Build the decoder graph. */
export function buildVaeDecoder(cfg: VAEConfig, W: Weights, opts: { float16?: boolean } = {}): GraphBuilder {
  const g = new GraphBuilder('vae_decoder', { metadata: { component: 'vae_decoder' } });
  const m = new VaeGraph(g, W, cfg, Boolean(opts.float16));
  const { channels: ch, spatialDown, temporalDown } = vaeLayout(cfg);
  const L = ch.length;
  const z = g.input('z', ['B', 'T', 'H', 'W', cfg.latent_channels]);
  const zc = g.op('Transpose', [z], { perm: [0, 4, 1, 2, 3] }); // (B, C, T, H, W)
  let h = m.conv(zc, 'decoder.conv_in', 'spatial');
  h = m.resBlock(h, 'decoder.mid.res.0', ch[L - 1], ch[L - 1]);
  let c = ch[L - 1];
  for (let i = L - 1; i >= 0; i--) {
    for (let j = 0; j < cfg.res_blocks; j++) {
      h = m.resBlock(h, `decoder.up.${i}.res.${j}`, c, ch[i]);
      c = ch[i];
    }
    if (i > 0 && temporalDown[i - 1]) h = m.conv(m.upTimeCausal(h), `decoder.up.${i}.up_t`, 'temporal');
    if (i > 0 && spatialDown[i - 1]) {
      h = m.conv(m.up2x(h), `decoder.up.${i}.up_s`, 'spatial');
      c = ch[i - 1];
    }
  }
  h = m.conv(m.silu(cfg.out_norm ? m.groupNorm(h, 'decoder.norm_out', c) : h), 'decoder.conv_out', 'spatial');
  if (cfg.shortcut) h = g.op('Add', [h, m.blockRepeat(g.op('Slice', [zc, g.ints([0]), g.ints([3]), g.ints([1])]))]); // (B, 3, F, HP, WP)
  g.output(g.op('Transpose', [h], { perm: [0, 2, 3, 4, 1] }), ['B', 'F', 'HP', 'WP', 3], undefined, 'frames');
  return g;
}

/** Build the encoder graph (posterior mean only: conditioning uses the mean). */
export function buildVaeEncoder(cfg: VAEConfig, W: Weights, opts: { float16?: boolean } = {}): GraphBuilder {
  const g = new GraphBuilder('vae_encoder', { metadata: { component: 'vae_encoder' } });
  const m = new VaeGraph(g, W, cfg, Boolean(opts.float16));
  const { channels: ch, spatialDown, temporalDown } = vaeLayout(cfg);
  const L = ch.length;
  const x = g.input('x', ['B', 'F', 'HP', 'WP', 3]);
  const xc = g.op('Transpose', [x], { perm: [0, 4, 1, 2, 3] }); // (B, 3, F, HP, WP)
  let h = m.conv(xc, 'encoder.conv_in', 'spatial');
  let c = ch[0];
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < cfg.res_blocks; j++) {
      h = m.resBlock(h, `encoder.down.${i}.res.${j}`, c, ch[i]);
      c = ch[i];
    }
    if (i < L - 1 && spatialDown[i]) h = m.conv(h, `encoder.down.${i}.down_s`, 'spatial', 2);
    if (i < L - 1 && temporalDown[i]) h = m.conv(h, `encoder.down.${i}.down_t`, 'temporal', 2);
  }
  h = m.resBlock(h, 'encoder.mid.res.0', c, c);
  h = m.conv(m.silu(cfg.out_norm ? m.groupNorm(h, 'encoder.norm_out', c) : h), 'encoder.conv_out', 'spatial'); // (B, 2C, T', H', W')
  let mean = g.op('Slice', [h, g.ints([0]), g.ints([cfg.latent_channels]), g.ints([1])]); // (B, C, T', H', W')
  if (cfg.shortcut) mean = g.op('Add', [mean, g.op('Pad', [m.blockAverage(xc), g.ints([0, 0, 0, 0, 0, 0, cfg.latent_channels - 3, 0, 0, 0])])]); // (B, C, T', H', W')
  g.output(g.op('Transpose', [mean], { perm: [0, 2, 3, 4, 1] }), ['B', 'T', 'H', 'W', cfg.latent_channels], undefined, 'mean');
  return g;
}
