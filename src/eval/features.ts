// Per-frame feature extractors for VBench subject/background consistency (Huang et al. 2024).
// VBench uses DINO ViT-B/16 (subject; shorter side → 224, ImageNet mean/std) and CLIP ViT-B/32
// (background; shorter side → 224 bicubic, centre crop 224, CLIP mean/std). Such encoders plug in
// as ONNX files (`onnx:FILE#preset=dino|clip,...`). The built-in extractor is analytic, not learned:
//  - it splits each frame into a moving foreground and a static background by comparing it with
//    the video's per-pixel temporal median (max channel difference > 30/255);
//  - subject feature: √-normalised soft 4×4×4 RGB histogram of the foreground plus its bounding-box crop
//    resized to 8×8 RGB (whole frame when a frame has no foreground);
//  - background feature: histogram of the non-foreground pixels plus 8×8 cell means of them.
// It sees colour, coarse shape and lighting changes; it does not see identity or semantics, and a
// moving camera makes the whole frame "foreground". Treat its numbers as a low-level proxy.
import type { Frame } from '../data/video.js';
import { createSession, run, type Session } from '../infer/ort.js';
import { FlagError, SpacetimeError } from '../util/errors.js';
import { centerCrop, resizeFrame, resizeImage, shorterSide, type ResizeKernel } from './resize.js';

export interface FeatureExtractor {
  readonly name: string;
  /** One feature vector per frame. */
  extract(frames: readonly Frame[]): Promise<Float32Array[]>;
}

// ---------------------------------------------------------------------------------------------
// Built-in analytic features.

const FG_THRESHOLD = 30;
const GRID = 8;

/** Per-pixel, per-channel temporal median (H, W, 3) over up to 33 evenly spaced frames. */
export function temporalMedian(frames: readonly Frame[]): Uint8Array {
  const step = Math.max(1, Math.ceil(frames.length / 33));
  const pick = frames.filter((_, i) => i % step === 0);
  const n = pick[0].data.length;
  const out = new Uint8Array(n);
  const buf = new Uint8Array(pick.length);
  for (let k = 0; k < n; k++) {
    for (let t = 0; t < pick.length; t++) buf[t] = pick[t].data[k];
    buf.sort();
    out[k] = buf[(pick.length - 1) >> 1];
  }
  return out;
}

/** Foreground mask of a frame against a background image: 1 where any channel differs by > 30. */
export function foregroundMask(f: Frame, bg: Uint8Array): Uint8Array {
  const n = f.width * f.height;
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const d = Math.max(Math.abs(f.data[3 * i] - bg[3 * i]), Math.abs(f.data[3 * i + 1] - bg[3 * i + 1]), Math.abs(f.data[3 * i + 2] - bg[3 * i + 2]));
    m[i] = d > FG_THRESHOLD ? 1 : 0;
  }
  return m;
}

/**
 * √ of the normalised 4×4×4 RGB histogram of the masked pixels, soft-binned (trilinear weights
 * between bin centres 32, 96, 160, 224) so codec noise near a bin edge does not flip bins.
 */
function histogram(f: Frame, mask: Uint8Array | null, want: 0 | 1): Float32Array {
  const h = new Float32Array(64);
  let n = 0;
  const lo = new Int32Array(3);
  const fr = new Float32Array(3);
  for (let i = 0; i < f.width * f.height; i++) {
    if (mask && mask[i] !== want) continue;
    for (let c = 0; c < 3; c++) {
      const t = Math.min(3, Math.max(0, (f.data[3 * i + c] - 32) / 64));
      lo[c] = Math.min(2, Math.floor(t));
      fr[c] = t - lo[c];
    }
    for (let k = 0; k < 8; k++) {
      const [dr, dg, db] = [k >> 2, (k >> 1) & 1, k & 1];
      const w = (dr ? fr[0] : 1 - fr[0]) * (dg ? fr[1] : 1 - fr[1]) * (db ? fr[2] : 1 - fr[2]);
      h[((lo[0] + dr) << 4) | ((lo[1] + dg) << 2) | (lo[2] + db)] += w;
    }
    n++;
  }
  for (let k = 0; k < 64; k++) h[k] = n ? Math.sqrt(h[k] / n) : 0;
  return h;
}

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const k = s > 0 ? 1 / Math.sqrt(s) : 0;
  return v.map((x) => x * k);
}

function concatHalves(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  const k = Math.SQRT1_2;
  const ua = unit(a);
  const ub = unit(b);
  for (let i = 0; i < a.length; i++) out[i] = ua[i] * k;
  for (let i = 0; i < b.length; i++) out[a.length + i] = ub[i] * k;
  return out;
}

function subjectFeature(f: Frame, fg: Uint8Array): Float32Array {
  let [x0, y0, x1, y1] = [f.width, f.height, -1, -1];
  for (let y = 0; y < f.height; y++)
    for (let x = 0; x < f.width; x++)
      if (fg[y * f.width + x]) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
  if (x1 < 0) return concatHalves(histogram(f, null, 1), resizeFrame(f, GRID, GRID));
  const cw = x1 - x0 + 1;
  const ch = y1 - y0 + 1;
  const crop = new Uint8Array(cw * ch * 3);
  for (let y = 0; y < ch; y++) crop.set(f.data.subarray(((y0 + y) * f.width + x0) * 3, ((y0 + y) * f.width + x1 + 1) * 3), y * cw * 3);
  return concatHalves(histogram(f, fg, 1), resizeImage(crop, cw, ch, 3, GRID, GRID));
}

function backgroundFeature(f: Frame, fg: Uint8Array, bg: Uint8Array): Float32Array {
  const { width: w, height: h } = f;
  const cells = new Float32Array(GRID * GRID * 3);
  for (let gy = 0; gy < GRID; gy++)
    for (let gx = 0; gx < GRID; gx++) {
      const [ya, yb] = [Math.floor((gy * h) / GRID), Math.max(Math.floor((gy * h) / GRID) + 1, Math.floor(((gy + 1) * h) / GRID))];
      const [xa, xb] = [Math.floor((gx * w) / GRID), Math.max(Math.floor((gx * w) / GRID) + 1, Math.floor(((gx + 1) * w) / GRID))];
      const acc = [0, 0, 0];
      const accBg = [0, 0, 0];
      let n = 0;
      let nBg = 0;
      for (let y = ya; y < Math.min(yb, h); y++)
        for (let x = xa; x < Math.min(xb, w); x++) {
          const i = y * w + x;
          for (let c = 0; c < 3; c++) accBg[c] += bg[3 * i + c];
          nBg++;
          if (fg[i]) continue;
          for (let c = 0; c < 3; c++) acc[c] += f.data[3 * i + c];
          n++;
        }
      for (let c = 0; c < 3; c++) cells[(gy * GRID + gx) * 3 + c] = n ? acc[c] / n : nBg ? accBg[c] / nBg : 0;
    }
  let fgCount = 0;
  for (const m of fg) fgCount += m;
  const mostlyFg = fgCount > 0.95 * w * h;
  return concatHalves(histogram(f, mostlyFg ? null : fg, 0), cells);
}

/** The built-in analytic extractor for the subject (foreground) or the background. */
export function builtinFeatures(kind: 'subject' | 'background'): FeatureExtractor {
  return {
    name: `builtin-${kind}`,
    extract: async (frames) => {
      if (frames.length === 0) return [];
      const bg = temporalMedian(frames);
      return frames.map((f) => {
        const fg = foregroundMask(f, bg);
        return kind === 'subject' ? subjectFeature(f, fg) : backgroundFeature(f, fg, bg);
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ONNX image encoders.

export interface Preprocess {
  /** Shorter side resized to this. */
  size: number;
  /** Centre-crop to size × size after resizing. */
  crop: boolean;
  kernel: ResizeKernel;
  mean: [number, number, number];
  std: [number, number, number];
  layout: 'nchw' | 'nhwc';
}

export const PRESETS: Record<'dino' | 'clip', Preprocess> = {
  dino: { size: 224, crop: false, kernel: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], layout: 'nchw' },
  clip: { size: 224, crop: true, kernel: 'bicubic', mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711], layout: 'nchw' },
};

/** A frame as the encoder input (1, 3, H, W) or (1, H, W, 3). */
export function preprocessFrame(f: Frame, p: Preprocess): { data: Float32Array; dims: number[] } {
  const [w, h] = shorterSide(f.width, f.height, p.size);
  let img = resizeFrame(f, w, h, p.kernel);
  let [W, H] = [w, h];
  if (p.crop) {
    img = centerCrop(img, w, h, 3, p.size, p.size);
    [W, H] = [p.size, p.size];
  }
  const out = new Float32Array(W * H * 3);
  for (let i = 0; i < W * H; i++)
    for (let c = 0; c < 3; c++) {
      const v = (img[3 * i + c] / 255 - p.mean[c]) / p.std[c];
      if (p.layout === 'nhwc') out[3 * i + c] = v;
      else out[c * W * H + i] = v;
    }
  return { data: out, dims: p.layout === 'nhwc' ? [1, H, W, 3] : [1, 3, H, W] };
}

/** Reduce an encoder output to one vector: (1, D) as is, (1, N, D) → token 0 (CLS), (1, C, h, w) → spatial mean. */
export function poolOutput(data: Float32Array, dims: readonly number[]): Float32Array {
  if (dims[0] !== 1) throw new SpacetimeError(`feature output must have batch 1, got (${dims.join(', ')})`);
  if (dims.length === 3) return data.slice(0, dims[2]);
  if (dims.length === 4) {
    const [C, hw] = [dims[1], dims[2] * dims[3]];
    const out = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let k = 0; k < hw; k++) s += data[c * hw + k];
      out[c] = s / hw;
    }
    return out;
  }
  return data.slice();
}

export async function onnxFeatures(file: string, p: Preprocess, threads?: number): Promise<FeatureExtractor> {
  const session: Session = await createSession(file, { threads });
  if (session.inputNames.length !== 1) throw new SpacetimeError(`${file}: an image encoder takes one input; this one has ${session.inputNames.length}`);
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  return {
    name: `onnx:${file}`,
    extract: async (frames) => {
      const out: Float32Array[] = [];
      for (const f of frames) {
        const r = await run(session, { [input]: preprocessFrame(f, p) });
        const t = r[output];
        if (t.type !== 'float32') throw new SpacetimeError(`${file}: output ${output} is ${t.type}, expected float32`);
        out.push(poolOutput(t.data as Float32Array, t.dims));
      }
      return out;
    },
  };
}

function triple(key: string, v: string): [number, number, number] {
  const xs = v.split('/').map(Number);
  if (xs.length !== 3 || xs.some((x) => !Number.isFinite(x))) throw new FlagError('features', `${key} takes three numbers a/b/c, got '${v}'`);
  return xs as [number, number, number];
}

/**
 * Parse `builtin` or `onnx:FILE[#key=value,...]` with keys preset=dino|clip, size=N, crop=0|1,
 * kernel=bilinear|bicubic, mean=a/b/c, std=a/b/c, layout=nchw|nhwc. The default preset is VBench's
 * choice for the role: dino for subject, clip for background.
 */
export async function featuresFromFlag(spec: string, kind: 'subject' | 'background', threads?: number): Promise<FeatureExtractor> {
  if (spec === 'builtin') return builtinFeatures(kind);
  if (!spec.startsWith('onnx:') || spec.length <= 5) throw new FlagError('features', `expected 'builtin' or 'onnx:FILE[#options]', got '${spec}'`);
  const [file, opts = ''] = spec.slice(5).split('#');
  const kv = opts ? opts.split(',').map((s) => s.split('=') as [string, string | undefined]) : [];
  const presetName = kv.find(([k]) => k === 'preset')?.[1] ?? (kind === 'subject' ? 'dino' : 'clip');
  if (presetName !== 'dino' && presetName !== 'clip') throw new FlagError('features', `unknown preset '${presetName}' (dino, clip)`);
  const p: Preprocess = { ...PRESETS[presetName] };
  for (const [k, v = ''] of kv) {
    if (k === 'preset') continue;
    else if (k === 'size' && Number.isInteger(Number(v)) && Number(v) > 0) p.size = Number(v);
    else if (k === 'crop' && (v === '0' || v === '1' || v === '')) p.crop = v !== '0';
    else if (k === 'kernel' && (v === 'bilinear' || v === 'bicubic')) p.kernel = v;
    else if (k === 'layout' && (v === 'nchw' || v === 'nhwc')) p.layout = v;
    else if (k === 'mean') p.mean = triple(k, v);
    else if (k === 'std') p.std = triple(k, v);
    else throw new FlagError('features', `bad option '${k}${v ? `=${v}` : ''}' (preset, size, crop, kernel, mean, std, layout)`);
  }
  return onnxFeatures(file, p, threads);
}
