// The clip dataset (DESIGN.md "File formats"): a folder of videos plus clips.jsonl, one object
// per clip. Synthetic clips also carry their ground truth (`physics`).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic.js';
import { FileError } from '../util/errors.js';

export const VIOLATION_TYPES = ['disappearance', 'appearance', 'teleport', 'merge', 'split', 'morph', 'gravity_violation', 'reversal', 'direction_mismatch'] as const;
export type ViolationType = (typeof VIOLATION_TYPES)[number];

/** Ground truth of one object in one frame. x, y: centre in pixels; w, h: extent in pixels. */
export const ObjectStateSchema = z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number(), visible: z.boolean() });

export const GroundTruthObjectSchema = z.object({
  id: z.number().int(),
  shape: z.enum(['ball', 'box']),
  color: z.string(),
  rgb: z.tuple([z.number(), z.number(), z.number()]),
  frames: z.array(ObjectStateSchema),
});

export const PlantedViolationSchema = z.object({ type: z.enum(VIOLATION_TYPES), frame: z.number().int(), object: z.number().int(), detail: z.string().optional() });

export const PhysicsTruthSchema = z.object({
  scene: z.string(),
  background: z.string(),
  gravity: z.number().optional(),
  objects: z.array(GroundTruthObjectSchema),
  occluders: z.array(z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number(), color: z.string() })).default([]),
  events: z.array(z.object({ type: z.string(), frame: z.number().int(), object: z.number().int() })).default([]),
  violations: z.array(PlantedViolationSchema).default([]),
});

export const ClipSchema = z.object({
  id: z.string().min(1),
  path: z.string().min(1),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  frames: z.number().int().positive(),
  fps: z.number().positive(),
  caption: z.string().optional(),
  caption_source: z.string().optional(),
  source: z.string().optional(),
  physics: PhysicsTruthSchema.optional(),
});

export type Clip = z.infer<typeof ClipSchema>;
export type PhysicsTruth = z.infer<typeof PhysicsTruthSchema>;

/** Read and validate `DIR/clips.jsonl`. Paths in the result are as stored (relative to DIR). */
export async function readClips(dir: string): Promise<Clip[]> {
  const file = path.join(dir, 'clips.jsonl');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FileError(file, 'no such file (is this a clip dataset? run `spacetime synth` or `spacetime ingest`)');
  }
  const clips: Clip[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new FileError(file, `line ${i + 1}: not valid JSON`);
    }
    const r = ClipSchema.safeParse(obj);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new FileError(file, `line ${i + 1}: ${issue.path.join('.') || 'clip'}: ${issue.message}`);
    }
    clips.push(r.data);
  });
  return clips;
}

/** Write `DIR/clips.jsonl` atomically. */
export async function writeClips(dir: string, clips: readonly Clip[]): Promise<void> {
  await writeFileAtomic(path.join(dir, 'clips.jsonl'), clips.map((c) => JSON.stringify(c)).join('\n') + (clips.length ? '\n' : ''));
}

/** Absolute path of a clip's video. */
export function clipPath(dir: string, clip: Clip): string {
  return path.isAbsolute(clip.path) ? clip.path : path.join(dir, clip.path);
}
