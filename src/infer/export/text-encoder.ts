// ONNX graph (opset 17) of the caption encoder, transcribed from src/model/text-encoder.ts:
// token + position embeddings (+ the previous token's prev_embed with prevToken; + the hashed
// token-pair bigram_embed with bigramBuckets, its bucket computed in int64 as in bigramIds; then
// the embedding LayerNorm with embedNorm), pre-LN blocks
// (affine LayerNorm eps 1e-6, key-padding-masked attention, GELU-tanh MLP), final LayerNorm.
// Dynamic B and L (L ≤ maxLen).
//   ids (B, L) int64, mask (B, L) float → emb (B, L, E)
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import { MASKED } from '../../model/attention.js';
import { BIGRAM_MULT, type TextEncoderConfig } from '../../model/text-encoder.js';
import type { Weights } from './dit.js';

export function buildTextEncoder(cfg: TextEncoderConfig, W: Weights, opts: { float16?: boolean } = {}): GraphBuilder {
  const g = new GraphBuilder('text_encoder', { metadata: { component: 'text_encoder' } });
  const f16 = Boolean(opts.float16);
  const E = cfg.width;
  const H = cfg.heads;
  const dh = E / H;
  const w = (name: string) => {
    const t = W(name);
    const v = g.initializer(name, t.data, t.shape, { float16: f16 });
    return f16 ? g.op('Cast', [v], { to: 1 }) : v;
  };
  const c = (v: number) => g.constant([v], []);
  const linear = (x: string, name: string) => g.op('Add', [g.op('MatMul', [x, w(`${name}.weight`)]), w(`${name}.bias`)]);
  const ln = (x: string, name: string) => {
    const mu = g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
    const xc = g.op('Sub', [x, mu]);
    const v = g.op('ReduceMean', [g.op('Mul', [xc, xc])], { axes: [-1], keepdims: 1 });
    const n = g.op('Mul', [xc, g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [v, c(1e-6)])])])]);
    return g.op('Add', [g.op('Mul', [n, w(`${name}.weight`)]), w(`${name}.bias`)]);
  };
  const gelu = (x: string) => {
    const x3 = g.op('Mul', [g.op('Mul', [x, x]), x]);
    const u2 = g.op('Mul', [g.op('Add', [x, g.op('Mul', [x3, c(0.044715)])]), c(2 * Math.sqrt(2 / Math.PI))]);
    return g.op('Mul', [x, g.op('Sigmoid', [u2])]);
  };

  const ids = g.input('ids', ['B', 'L'], DataType.INT64);
  const mask = g.input('mask', ['B', 'L']);
  const L = g.op('Slice', [g.op('Shape', [ids]), g.ints([1]), g.ints([2])]); // (1,) = [L]
  const pos = g.op('Slice', [w('pos_embed'), g.ints([0]), L, g.ints([0])]); // (L, E)
  let h = g.op('Add', [g.op('Gather', [w('tok_embed'), ids], { axis: 0 }), pos]); // (B, L, E)
  if (cfg.prevToken) {
    const pe = g.op('Gather', [w('prev_embed'), ids], { axis: 0 }); // (B, L, E): prev_embed of each token
    const zero = g.op('Mul', [g.op('Slice', [pe, g.ints([0]), g.ints([1]), g.ints([1])]), c(0)]); // (B, 1, E) zeros
    const upTo = g.op('Slice', [pe, g.ints([0]), g.op('Sub', [L, g.ints([1])]), g.ints([1])]); // (B, L − 1, E)
    h = g.op('Add', [h, g.op('Concat', [zero, upTo], { axis: 1 })]); // row j gets token j − 1's, row 0 nothing
  }
  if (cfg.bigramBuckets) {
    const first = g.op('Add', [g.op('Mul', [g.op('Slice', [ids, g.ints([0]), g.ints([1]), g.ints([1])]), g.ints([0])]), g.ints([cfg.vocabSize])]); // (B, 1) = V
    const prev = g.op('Concat', [first, g.op('Slice', [ids, g.ints([0]), g.op('Sub', [L, g.ints([1])]), g.ints([1])])], { axis: 1 }); // (B, L) previous id, V at j = 0
    const bucket = g.op('Mod', [g.op('Add', [g.op('Mul', [prev, g.ints([BIGRAM_MULT])]), ids]), g.ints([cfg.bigramBuckets])]); // (B, L)
    h = g.op('Add', [h, g.op('Gather', [w('bigram_embed'), bucket], { axis: 0 })]); // (B, L, E)
  }
  if (cfg.embedNorm) h = ln(h, 'emb_ln');
  const bias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [c(1), mask]), c(MASKED)]), g.ints([1, 2])]); // (B, 1, 1, L)
  const heads = (x: string) => g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, H, dh])])], { perm: [0, 2, 1, 3] }); // (B, H, L, dh)
  for (let i = 0; i < cfg.depth; i++) {
    const p = `blocks.${i}`;
    const x = ln(h, `${p}.ln1`);
    const q = heads(linear(x, `${p}.attn.q`));
    const kT = g.op('Transpose', [g.op('Reshape', [linear(x, `${p}.attn.k`), g.ints([0, 0, H, dh])])], { perm: [0, 2, 3, 1] }); // (B, H, dh, L)
    const v = heads(linear(x, `${p}.attn.v`));
    const s = g.op('Add', [g.op('MatMul', [g.op('Mul', [q, c(1 / Math.sqrt(dh))]), kT]), bias]); // (B, H, L, L)
    const o = g.op('MatMul', [g.op('Softmax', [s], { axis: -1 }), v]); // (B, H, L, dh)
    const merged = g.op('Reshape', [g.op('Transpose', [o], { perm: [0, 2, 1, 3] }), g.ints([0, 0, E])]); // (B, L, E)
    h = g.op('Add', [h, linear(merged, `${p}.attn.proj`)]);
    h = g.op('Add', [h, linear(gelu(linear(ln(h, `${p}.ln2`), `${p}.mlp.fc1`)), `${p}.mlp.fc2`)]);
  }
  g.output(ln(h, 'ln_f'), ['B', 'L', E], undefined, 'emb');
  return g;
}
