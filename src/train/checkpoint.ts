// Self-describing checkpoints (DESIGN.md "File formats"; STYLE.md §7, after nanoGPT's
// `model_args` and DiT's `args`): a directory `ckpt-<step>/` holding `<name>.safetensors` per
// tensor group (model, ema, optimizer), `config.json` (the full resolved config: loading rebuilds
// from it, never from the command line) and `state.json` (step, RNG state, data-loader position).
// The directory is filled as `ckpt-<step>.tmp/` and renamed, then `RUN/latest` names it, then old
// checkpoints are pruned to the last K. A crash leaves the previous checkpoint intact.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import type { ParamStore } from '../model/types.js';
import { makeDirs, writeFileAtomic } from '../util/atomic.js';
import { FileError } from '../util/errors.js';
import { readJsonFile } from '../util/json-file.js';
import { readSafetensors, tensorToFloat32, writeSafetensors, type TensorData } from './safetensors.js';

export type { TensorData };

/** What a checkpoint holds: named tensor groups plus the config and the training state. */
export interface CheckpointContent {
  /** e.g. { model: {...}, ema: {...}, optimizer: {...} } → model.safetensors, ... */
  files: Record<string, Record<string, TensorData>>;
  config: object;
  state: object;
  /** Other small files stored as they are (e.g. tokenizer.json). */
  extra?: Record<string, string>;
}

export interface LoadedCheckpoint<C = unknown, S = unknown> {
  dir: string;
  step: number;
  files: Record<string, Record<string, TensorData>>;
  config: C;
  state: S;
}

const CKPT_RE = /^ckpt-(\d+)$/;
const LATEST = 'latest';

export function checkpointName(step: number): string {
  return `ckpt-${String(step).padStart(8, '0')}`;
}

/** Checkpoints in a run directory, oldest first. */
export async function listCheckpoints(runDir: string): Promise<{ dir: string; step: number }[]> {
  let names: string[];
  try {
    names = await fs.readdir(runDir);
  } catch {
    return [];
  }
  const out: { dir: string; step: number }[] = [];
  for (const n of names) {
    const m = CKPT_RE.exec(n);
    if (!m) continue;
    const st = await fs.stat(path.join(runDir, n)).catch(() => null);
    if (st?.isDirectory()) out.push({ dir: path.join(runDir, n), step: Number(m[1]) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * Write `ckpt-<step>/` under `runDir` atomically, point `runDir/latest` at it and keep only the
 * newest `keepLast` checkpoints (0 keeps all). Returns the checkpoint directory.
 */
export async function saveCheckpoint(runDir: string, step: number, content: CheckpointContent, opts: { keepLast?: number } = {}): Promise<string> {
  if (!Number.isInteger(step) || step < 0) throw new FileError(runDir, `checkpoint step must be a non-negative integer, got ${step}`);
  const name = checkpointName(step);
  const target = path.join(runDir, name);
  const tmp = `${target}.tmp`;
  await makeDirs(runDir);
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp);
  try {
    for (const [group, tensors] of Object.entries(content.files)) {
      if (!/^[A-Za-z0-9_-]+$/.test(group)) throw new FileError(tmp, `bad tensor group name '${group}'`);
      await writeSafetensors(path.join(tmp, `${group}.safetensors`), tensors, { format: 'spacetime', group, step: String(step) });
    }
    await fs.writeFile(path.join(tmp, 'config.json'), `${JSON.stringify(content.config, null, 2)}\n`);
    await fs.writeFile(path.join(tmp, 'state.json'), `${JSON.stringify({ ...content.state, step }, null, 2)}\n`);
    for (const [name, text] of Object.entries(content.extra ?? {})) {
      if (!/^[A-Za-z0-9_.-]+$/.test(name) || ['config.json', 'state.json'].includes(name)) throw new FileError(tmp, `bad extra file name '${name}'`);
      await fs.writeFile(path.join(tmp, name), text);
    }
    await fs.rm(target, { recursive: true, force: true });
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  await writeFileAtomic(path.join(runDir, LATEST), `${name}\n`);
  const keep = opts.keepLast ?? 0;
  if (keep > 0) {
    const all = await listCheckpoints(runDir);
    for (const c of all.slice(0, Math.max(0, all.length - keep))) {
      if (c.step !== step) await fs.rm(c.dir, { recursive: true, force: true });
    }
  }
  return target;
}

/** A checkpoint directory from either a checkpoint directory or a run directory (→ latest). */
export async function resolveCheckpointDir(dir: string): Promise<string> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new FileError(dir, 'no such checkpoint or run directory');
  if (await exists(path.join(dir, 'config.json'))) return dir;
  const latestFile = path.join(dir, LATEST);
  if (await exists(latestFile)) {
    const name = (await fs.readFile(latestFile, 'utf8')).trim();
    const d = path.join(dir, name);
    if (!CKPT_RE.test(name) || !(await exists(path.join(d, 'config.json')))) {
      throw new FileError(latestFile, `names '${name}', which is not a complete checkpoint in this run`);
    }
    return d;
  }
  const all = await listCheckpoints(dir);
  if (all.length === 0) throw new FileError(dir, 'no checkpoint here (expected config.json, a `latest` file or ckpt-<step>/ directories)');
  return all[all.length - 1].dir;
}

export interface LoadOptions<C> {
  /** Tensor groups that must be present (default: every *.safetensors in the directory). */
  files?: readonly string[];
  /** Optional tensor groups to read when present. */
  optional?: readonly string[];
  /** Validates config.json; a failure names the file and the first bad field. */
  configSchema?: z.ZodType<C>;
}

/** Read a checkpoint (directory or run directory → latest) with readable errors per file. */
export async function loadCheckpoint<C = unknown, S = Record<string, unknown>>(dir: string, opts: LoadOptions<C> = {}): Promise<LoadedCheckpoint<C, S>> {
  const ckpt = await resolveCheckpointDir(dir);
  const configRaw = await readJsonFile(path.join(ckpt, 'config.json'), 'missing from checkpoint');
  let config = configRaw as C;
  if (opts.configSchema) {
    const r = opts.configSchema.safeParse(configRaw);
    if (!r.success) {
      const iss = r.error.issues[0];
      throw new FileError(path.join(ckpt, 'config.json'), `invalid config: ${iss.path.join('.') || '(root)'}: ${iss.message}`);
    }
    config = r.data;
  }
  const statePath = path.join(ckpt, 'state.json');
  const state = (await readJsonFile(statePath, 'missing from checkpoint')) as S & { step?: unknown };
  if (typeof state !== 'object' || state === null) throw new FileError(statePath, 'expected a JSON object');
  const m = CKPT_RE.exec(path.basename(ckpt));
  const step = typeof state.step === 'number' ? state.step : m ? Number(m[1]) : 0;

  let groups: string[];
  if (opts.files) {
    groups = [...opts.files];
  } else {
    groups = (await fs.readdir(ckpt)).filter((n) => n.endsWith('.safetensors')).map((n) => n.slice(0, -'.safetensors'.length));
  }
  const files: Record<string, Record<string, TensorData>> = {};
  for (const g of groups) {
    const f = path.join(ckpt, `${g}.safetensors`);
    if (!(await exists(f))) throw new FileError(f, 'missing from checkpoint');
    files[g] = await readGroup(f);
  }
  for (const g of opts.optional ?? []) {
    const f = path.join(ckpt, `${g}.safetensors`);
    if (!(g in files) && (await exists(f))) files[g] = await readGroup(f);
  }
  return { dir: ckpt, step, files, config, state };
}

async function readGroup(file: string): Promise<Record<string, TensorData>> {
  try {
    return (await readSafetensors(file)).tensors;
  } catch (err) {
    if (err instanceof FileError) throw err;
    throw new FileError(file, `corrupt safetensors: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

const fmtShape = (s: readonly number[]) => `(${s.join(', ')})`;

/** Copy every parameter out as F32 TensorData (the safetensors keys are the parameter names). */
export function paramsToTensors(store: ParamStore): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const [name, v] of store) {
    out[name] = { dtype: 'F32', shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
  }
  return out;
}


/**
 * Assign tensors to the parameters of `store`. Every parameter must be present with its exact
 * shape and no unknown key may remain; errors read
 * `model.safetensors: blocks.0.attn.qkv.weight: expected shape (8, 24), got (8, 16)`.
 */
export function assignParams(store: ParamStore, tensors: Record<string, TensorData>, file: string): void {
  const checked: [tf.Variable, Float32Array][] = [];
  for (const [name, v] of store) {
    const t = tensors[name];
    if (!t) throw new FileError(file, `${name}: missing (expected shape ${fmtShape(v.shape)})`);
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      throw new FileError(file, `${name}: expected shape ${fmtShape(v.shape)}, got ${fmtShape(t.shape)}`);
    }
    checked.push([v, tensorToFloat32(t)]);
  }
  const extra = Object.keys(tensors).filter((k) => !store.has(k));
  if (extra.length > 0) throw new FileError(file, `unexpected tensor${extra.length > 1 ? 's' : ''} ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', …' : ''} (model config mismatch?)`);
  for (const [v, data] of checked) {
    const t = tf.tensor(data, v.shape, 'float32');
    v.assign(t);
    t.dispose();
  }
}
