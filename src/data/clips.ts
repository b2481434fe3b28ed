// The clip dataset (DESIGN.md "File formats"): a folder of videos plus clips.jsonl, one object
// per clip. Synthetic clips also carry their ground truth (`physics`).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic.js';
import { FileError } from '../util/errors.js';

export const VIOLATION_TYPES = ['disappearance', 'appearance', 'teleport', 'merge', 'split', 'morph', 'gravity_violation', 'reversal', 'direction_mismatch'] as const;
export type ViolationType = (typeof VIOLATION_TYPES)[number];

/**
 * Ground truth of one object in one frame, as drawn. x, y: centre in pixels; w, h: extent in
 * pixels; visible: false when not drawn, out of frame, or fully behind an occluder; color: set
 * only on frames where a planted colour morph changes the object's colour.
 */
export const ObjectStateSchema = z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number(), visible: z.boolean(), color: z.string().optional() });

export const GroundTruthObjectSchema = z.object({
  id: z.number().int(),
  shape: z.enum(['ball', 'box']),
  color: z.string(),
  rgb: z.tuple([z.number(), z.number(), z.number()]),
  /** Mass in arbitrary units ∝ area (synthetic scenes). */
  mass: z.number().optional(),
  /** Pendulum pivot [x, y] in pixels; a string is drawn from it to the object's centre. */
  pivot: z.tuple([z.number(), z.number()]).optional(),
  frames: z.array(ObjectStateSchema),
});

export const PlantedViolationSchema = z.object({ type: z.enum(VIOLATION_TYPES), frame: z.number().int(), object: z.number().int(), detail: z.string().optional() });

export const PhysicsTruthSchema = z.object({
  scene: z.string(),
  background: z.string(),
  /** Gravity in px/s² (image y points down). */
  gravity: z.number().optional(),
  /** Top of the floor band in pixels (absent or null: no floor). */
  floor: z.number().nullable().optional(),
  objects: z.array(GroundTruthObjectSchema),
  /** Walls drawn over the objects. x, y: centre; w, h: extent (as object states). */
  occluders: z.array(z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number(), color: z.string() })).default([]),
  /** Events of the clean (intended) motion: bounce, land, stop, collision (with `other`), turn, occluded, reappear. */
  events: z.array(z.object({ type: z.string(), frame: z.number().int(), object: z.number().int(), other: z.number().int().optional() })).default([]),
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
  /** Why captioning failed (caption_source 'failed'); the old caption is kept. */
  caption_error: z.string().optional(),
  source: z.string().optional(),
  /** Ingested clips: [first, end) frame of `source` at this clip's fps, and the same in seconds. */
  source_frames: z.tuple([z.number().int(), z.number().int()]).optional(),
  source_seconds: z.tuple([z.number(), z.number()]).optional(),
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
