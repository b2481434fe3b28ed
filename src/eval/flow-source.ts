// Where flow comes from: the built-in Farnebäck estimator (flow.ts), or an external flow network
// exported to ONNX (e.g. RAFT, Teed & Deng 2020) run through onnxruntime-node. The ONNX contract:
// two inputs, each a frame (1, 3, H, W) float32 RGB in 0..255 (RAFT's convention) or [-1, 1];
// the last output is the flow (1, 2, h, w) in pixels (u then v); a lower-resolution output is
// upsampled bilinearly with its vectors rescaled. Frames are padded (edge replicate) to a multiple
// of `multiple` (RAFT needs 8) and the flow is cropped back.
import type { Frame } from '../data/video.js';
import { createSession, floatOutput, run, type Session } from '../infer/ort.js';
import { FlagError, SpacetimeError } from '../util/errors.js';
import { FARNEBACK_DEFAULTS, flowPrepared, prepareFrame, type FarnebackOptions, type PreparedFrame } from './flow.js';
import { resizeFlow, type Flow } from './warp.js';

export interface FlowEstimator {
  readonly name: string;
  /** Flow from a to b: pixel x of a is at x + flow(x) in b. */
  flow(a: Frame, b: Frame): Promise<Flow>;
}

/**
 * Farnebäck with the per-frame preparation cached for the last `cacheFrames` frames used (LRU),
 * so a frame in several nearby pairs is expanded once while memory stays bounded.
 */
export function builtinFlow(opts: Partial<FarnebackOptions> = {}, cacheFrames = 6): FlowEstimator {
  const o = { ...FARNEBACK_DEFAULTS, ...opts };
  const cache = new Map<Frame, PreparedFrame>();
  const prep = (f: Frame) => {
    let p = cache.get(f);
    if (p) cache.delete(f);
    else p = prepareFrame(f, o);
    cache.set(f, p);
    if (cache.size > cacheFrames) cache.delete(cache.keys().next().value as Frame);
    return p;
  };
  return {
    name: 'builtin',
    flow: async (a, b) => flowPrepared(prep(a), prep(b), o),
  };
}

export interface OnnxFlowOptions {
  /** Input value range: '0-255' (RAFT) or '-1-1'. */
  range?: '0-255' | '-1-1';
  /** Pad H and W up to a multiple of this (default 8). */
  multiple?: number;
  threads?: number;
}

/** (1, 3, Hp, Wp) float tensor of a frame, padded by edge replication. */
export function frameToNchw(f: Frame, hp: number, wp: number, range: '0-255' | '-1-1'): Float32Array {
  const { width: w, height: h } = f;
  const out = new Float32Array(3 * hp * wp);
  const [scale, shift] = range === '0-255' ? [1, 0] : [2 / 255, -1];
  for (let y = 0; y < hp; y++) {
    const sy = Math.min(y, h - 1);
    for (let x = 0; x < wp; x++) {
      const s = (sy * w + Math.min(x, w - 1)) * 3;
      for (let c = 0; c < 3; c++) out[(c * hp + y) * wp + x] = f.data[s + c] * scale + shift;
    }
  }
  return out;
}

export async function onnxFlow(file: string, opts: OnnxFlowOptions = {}): Promise<FlowEstimator> {
  const session: Session = await createSession(file, { threads: opts.threads });
  if (session.inputNames.length !== 2) throw new SpacetimeError(`${file}: a flow model takes two frames; this one has ${session.inputNames.length} input(s) (${session.inputNames.join(', ')})`);
  const [in1, in2] = session.inputNames;
  const outName = session.outputNames[session.outputNames.length - 1];
  const range = opts.range ?? '0-255';
  const m = Math.max(1, opts.multiple ?? 8);
  return {
    name: `onnx:${file}`,
    flow: async (a, b) => {
      const { width: w, height: h } = a;
      const hp = Math.ceil(h / m) * m;
      const wp = Math.ceil(w / m) * m;
      const out = await run(session, {
        [in1]: { data: frameToNchw(a, hp, wp, range), dims: [1, 3, hp, wp] },
        [in2]: { data: frameToNchw(b, hp, wp, range), dims: [1, 3, hp, wp] },
      });
      const { data, dims } = floatOutput(out[outName], `${file}: output ${outName}`);
      if (dims.length !== 4 || dims[0] !== 1 || dims[1] !== 2) throw new SpacetimeError(`${file}: flow output ${outName} must be (1, 2, H, W), got (${dims.join(', ')})`);
      const [oh, ow] = [dims[2], dims[3]];
      let full: Flow = { width: ow, height: oh, u: data.slice(0, oh * ow), v: data.slice(oh * ow, 2 * oh * ow) };
      if (oh !== hp || ow !== wp) full = resizeFlow(full, wp, hp);
      if (hp === h && wp === w) return full;
      const u = new Float32Array(w * h);
      const v = new Float32Array(w * h);
      for (let y = 0; y < h; y++) {
        u.set(full.u.subarray(y * wp, y * wp + w), y * w);
        v.set(full.v.subarray(y * wp, y * wp + w), y * w);
      }
      return { width: w, height: h, u, v };
    },
  };
}

/** Parse `builtin` or `onnx:FILE` (the --flow flag). */
export async function flowFromFlag(spec: string, opts: OnnxFlowOptions = {}): Promise<FlowEstimator> {
  if (spec === 'builtin') return builtinFlow();
  if (spec.startsWith('onnx:') && spec.length > 5) return onnxFlow(spec.slice(5), opts);
  throw new FlagError('flow', `expected 'builtin' or 'onnx:FILE', got '${spec}'`);
}
