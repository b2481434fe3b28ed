// ONNX graph (opset 17) of the DiT's forward pass for one clip per row, transcribed from the
// documented forward in src/model/dit.ts, dit-block.ts, embed.ts, norm.ts and rope.ts (same
// parameter names, same eps, same GELU form). Patchify, the RoPE tables and the per-token
// clean-frame flags are computed on the host (src/infer/tokens.ts, rope tables), so the graph
// has only dynamic B, N and L axes and one file serves every resolution and duration:
//   tokens (B, N, Pout)   patchified noisy latents
//   cond (B, N, pt)       1 = the token's frame is a clean conditioning frame
//   t (B,)                noise level in [0, 1]
//   text (B, L, E), text_mask (B, L)
//   rope_cos, rope_sin (N, dh)   from ropeTables (sign folded into sin)
//   pos_feats (N, 3K)     only absPos 'fractional': fractionalPosFeatures (abspos.ts)
//   → out (B, N, Pout)
import { GraphBuilder } from '../onnx/builder.js';
import { ABS_POS_FEATURES } from '../../model/abspos.js';
import { MASKED } from '../../model/attention.js';
import { patchWidths } from '../../model/dit-params.js';
import { textPoolParts, type DiTConfig } from '../../model/presets.js';

export type Weights = (name: string) => { data: Float32Array; shape: number[] };

class DitGraph {
  constructor(
    readonly g: GraphBuilder,
    readonly W: Weights,
    readonly f16: boolean,
  ) {}

  w(name: string): string {
    const t = this.W(name);
    const v = this.g.initializer(name, t.data, t.shape, { float16: this.f16 });
    return this.f16 ? this.g.op('Cast', [v], { to: 1 }) : v;
  }

  linear(x: string, name: string): string {
    return this.g.op('Add', [this.g.op('MatMul', [x, this.w(`${name}.weight`)]), this.w(`${name}.bias`)]);
  }

  c(v: number): string {
    return this.g.constant([v], []);
  }

  sigmoidMul(x: string, scale = 1): string {
    const u = scale === 1 ? x : this.g.op('Mul', [x, this.c(scale)]);
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [u])]);
  }

  silu(x: string): string {
    return this.sigmoidMul(x);
  }

  /** GELU tanh form written as x·σ(2u), u = √(2/π)(x + 0.044715x³) (norm.ts geluTanh). */
  gelu(x: string): string {
    const g = this.g;
    const x3 = g.op('Mul', [g.op('Mul', [x, x]), x]);
    const u2 = g.op('Mul', [g.op('Add', [x, g.op('Mul', [x3, this.c(0.044715)])]), this.c(2 * Math.sqrt(2 / Math.PI))]);
    return g.op('Mul', [x, g.op('Sigmoid', [u2])]);
  }

  layerNorm(x: string, eps = 1e-6): string {
    const g = this.g;
    const mu = g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
    const xc = g.op('Sub', [x, mu]);
    const v = g.op('ReduceMean', [g.op('Mul', [xc, xc])], { axes: [-1], keepdims: 1 });
    return g.op('Mul', [xc, g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [v, this.c(eps)])])])]);
  }

  rmsNorm(x: string, gain: string, eps = 1e-6): string {
    const g = this.g;
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    return g.op('Mul', [g.op('Mul', [x, g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, this.c(eps)])])])]), this.w(gain)]);
  }

  modulate(x: string, shift: string, scale: string): string {
    return this.g.op('Add', [this.g.op('Mul', [x, this.g.op('Add', [scale, this.c(1)])]), shift]);
  }

  /** Linear(SiLU(c)) (B, k·D) split into k chunks, each (B, 1, D) to broadcast over tokens. */
  adaLN(cs: string, name: string, k: number, d: number): string[] {
    const parts = this.g.node('Split', [this.linear(cs, name), this.g.ints(Array(k).fill(d))], { axis: 1 }, { outputs: k });
    return parts.map((p) => this.g.op('Unsqueeze', [p, this.g.ints([1])]));
  }
}

/** Build the DiT graph. `float16` stores weights as float16 (cast to float32 in the graph). */
export function buildDiT(cfg: DiTConfig, W: Weights, opts: { float16?: boolean } = {}): GraphBuilder {
  const g = new GraphBuilder('dit', { metadata: { component: 'dit' } });
  const m = new DitGraph(g, W, Boolean(opts.float16));
  const D = cfg.hidden;
  const H = cfg.heads;
  const dh = D / H;
  const [pt, ph, pw] = cfg.patch;
  const C = cfg.latentChannels;
  const { pout } = patchWidths(cfg);

  const tokens = g.input('tokens', ['B', 'N', pout]);
  const cond = g.input('cond', ['B', 'N', pt]);
  const t = g.input('t', ['B']);
  const text = g.input('text', ['B', 'L', cfg.textWidth]);
  const textMask = g.input('text_mask', ['B', 'L']);
  const ropeCos = g.input('rope_cos', ['N', dh]);
  const ropeSin = g.input('rope_sin', ['N', dh]);
  const posFeats = cfg.absPos === 'fractional' ? g.input('pos_feats', ['N', ABS_POS_FEATURES]) : null;

  // patch embedding, with the clean-frame flag as an extra channel or a learned embedding
  let x: string;
  if (cfg.condMode === 'channel') {
    const xr = g.op('Reshape', [tokens, g.ints([0, 0, pt, ph * pw, C])]); // (B, N, pt, ph·pw, C)
    const mk = g.op('Mul', [g.op('Reshape', [cond, g.ints([0, 0, pt, 1, 1])]), g.constant(new Float32Array(ph * pw).fill(1), [1, 1, 1, ph * pw, 1])]); // (B, N, pt, ph·pw, 1)
    x = g.op('Reshape', [g.op('Concat', [xr, mk], { axis: 4 }), g.ints([0, 0, -1])]); // (B, N, Pin)
  } else {
    x = tokens;
  }
  let h = m.linear(x, 'x_embed'); // (B, N, D)
  if (cfg.condMode === 'embedding') {
    const frac = g.op('ReduceMean', [cond], { axes: [-1], keepdims: 1 }); // (B, N, 1)
    h = g.op('Add', [h, g.op('Mul', [frac, m.w('cond_embed')])]);
  }
  if (posFeats) h = g.op('Add', [h, g.op('MatMul', [posFeats, m.w('pos_embed.weight')])]); // (B, N, D) + (N, D)

  // timestep embedding: [cos, sin](1000·t·f), f_i = 10000^(−i/half), then a SiLU MLP
  const half = cfg.freqDim / 2;
  const f = new Float32Array(half);
  for (let i = 0; i < half; i++) f[i] = Math.exp((-Math.log(10000) * i) / half);
  const args = g.op('Mul', [g.op('Unsqueeze', [g.op('Mul', [t, m.c(1000)]), g.ints([1])]), g.constant(f, [1, half])]); // (B, F/2)
  const feats = g.op('Concat', [g.op('Cos', [args]), g.op('Sin', [args])], { axis: 1 }); // (B, F)
  let cvec = m.linear(m.silu(m.linear(feats, 't_embed.fc1')), 't_embed.fc2'); // (B, D)
  const pool = textPoolParts(cfg.textPool);
  if (cfg.pooledText && pool.mean) {
    const mk = g.op('Unsqueeze', [textMask, g.ints([2])]); // (B, L, 1)
    const sum = g.op('ReduceSum', [g.op('Mul', [text, mk]), g.ints([1])], { keepdims: 0 }); // (B, E)
    const cnt = g.op('Max', [g.op('ReduceSum', [mk, g.ints([1])], { keepdims: 0 }), m.c(1)]); // (B, 1)
    cvec = g.op('Add', [cvec, m.linear(g.op('Div', [sum, cnt]), 'text_pool')]);
  }
  if (cfg.pooledText && pool.first) {
    const first = g.op('Gather', [text, g.constant([0], [], { int64: true })], { axis: 1 }); // scalar index → (B, E)
    const firstMask = g.op('Slice', [textMask, g.ints([0]), g.ints([1]), g.ints([1])]); // (B, 1)
    cvec = g.op('Add', [cvec, m.linear(g.op('Mul', [first, firstMask]), 'text_first')]);
  }
  const cs = m.silu(cvec); // (B, D)
  const y = m.linear(m.gelu(m.linear(text, 'y_embed.fc1')), 'y_embed.fc2'); // (B, L, D)
  const crossBias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [m.c(1), textMask]), m.c(MASKED)]), g.ints([1, 2])]); // (B, 1, 1, L)

  const cos4 = g.op('Unsqueeze', [ropeCos, g.ints([0, 2])]); // (1, N, 1, dh)
  const sin4 = g.op('Unsqueeze', [ropeSin, g.ints([0, 2])]); // (1, N, 1, dh)
  const rope = (q: string) => {
    const halves = g.node('Split', [q, g.ints([dh / 2, dh / 2])], { axis: 3 }, { outputs: 2 }); // 2 × (B, N, H, dh/2)
    const swapped = g.op('Concat', [halves[1], halves[0]], { axis: 3 }); // (B, N, H, dh)
    return g.op('Add', [g.op('Mul', [q, cos4]), g.op('Mul', [swapped, sin4])]);
  };
  const heads = (v: string) => g.op('Reshape', [v, g.ints([0, 0, H, dh])]); // (B, n, H, dh)
  const attend = (q: string, k: string, v: string, bias: string | null) => {
    const qh = g.op('Transpose', [q], { perm: [0, 2, 1, 3] }); // (B, H, Nq, dh)
    const kt = g.op('Transpose', [k], { perm: [0, 2, 3, 1] }); // (B, H, dh, Nk)
    const vh = g.op('Transpose', [v], { perm: [0, 2, 1, 3] }); // (B, H, Nk, dh)
    let s = g.op('MatMul', [g.op('Mul', [qh, m.c(1 / Math.sqrt(dh))]), kt]); // (B, H, Nq, Nk)
    if (bias) s = g.op('Add', [s, bias]);
    const o = g.op('MatMul', [g.op('Softmax', [s], { axis: -1 }), vh]); // (B, H, Nq, dh)
    return g.op('Reshape', [g.op('Transpose', [o], { perm: [0, 2, 1, 3] }), g.ints([0, 0, D])]); // (B, Nq, D)
  };

  for (let i = 0; i < cfg.depth; i++) {
    const p = `blocks.${i}`;
    const [shA, scA, gaA, shM, scM, gaM] = m.adaLN(cs, `${p}.adaLN`, 6, D);
    // self-attention with QK-norm and RoPE
    const xa = m.modulate(m.layerNorm(h), shA, scA);
    let q = heads(m.linear(xa, `${p}.attn.q`));
    let k = heads(m.linear(xa, `${p}.attn.k`));
    const v = heads(m.linear(xa, `${p}.attn.v`));
    if (cfg.qkNorm) {
      q = m.rmsNorm(q, `${p}.attn.q_norm.weight`);
      k = m.rmsNorm(k, `${p}.attn.k_norm.weight`);
    }
    const a = m.linear(attend(rope(q), rope(k), v, null), `${p}.attn.proj`);
    h = g.op('Add', [h, g.op('Mul', [gaA, a])]);
    // cross-attention to the caption tokens
    const xc = m.layerNorm(h);
    let cq = heads(m.linear(xc, `${p}.cross.q`));
    let ck = heads(m.linear(y, `${p}.cross.k`));
    const cv = heads(m.linear(y, `${p}.cross.v`));
    if (cfg.qkNorm) {
      cq = m.rmsNorm(cq, `${p}.cross.q_norm.weight`);
      ck = m.rmsNorm(ck, `${p}.cross.k_norm.weight`);
    }
    h = g.op('Add', [h, m.linear(attend(cq, ck, cv, crossBias), `${p}.cross.proj`)]);
    // MLP
    const u = m.gelu(m.linear(m.modulate(m.layerNorm(h), shM, scM), `${p}.mlp.fc1`));
    h = g.op('Add', [h, g.op('Mul', [gaM, m.linear(u, `${p}.mlp.fc2`)])]);
  }
  const [shF, scF] = m.adaLN(cs, 'final.adaLN', 2, D);
  const out = m.linear(m.modulate(m.layerNorm(h), shF, scF), 'final.linear'); // (B, N, Pout)
  g.output(out, ['B', 'N', pout], undefined, 'out');
  return g;
}
