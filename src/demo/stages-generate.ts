// The generation stage of `spacetime demo`: through the exported ONNX model (runGenerate, the
// library behind `spacetime generate`) render text-to-video clips, an image-to-video clip from
// the first frame of a synth clip (written as PNG), and a forward extension of another synth clip.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { clipPath, readClips } from '../data/clips.js';
import { writeImage } from '../data/image.js';
import { readVideo } from '../data/video.js';
import { runGenerate, type GenerateJob } from '../infer/generate-run.js';
import { makeDirs, writeFileAtomic } from '../util/atomic.js';
import { FileError } from '../util/errors.js';
import type { DemoConfig } from './config.js';
import type { DemoPaths } from './paths.js';
import { round, type Metrics } from './stages-data.js';

export interface GeneratedClip {
  mode: 't2v' | 'i2v' | 'extend';
  prompt: string;
  path: string;
  frames: number;
  seconds: number;
}

/** The synth clip `index` of the training set (its file and caption). */
async function synthClip(p: DemoPaths, index: number): Promise<{ file: string; caption: string }> {
  const clips = await readClips(p.data);
  const c = clips[index];
  if (!c) throw new FileError(path.join(p.data, 'clips.jsonl'), `has no clip ${index}`);
  return { file: clipPath(p.data, c), caption: c.caption ?? '' };
}

/** Stage 7: t2v, i2v and extension clips in one set of ONNX sessions. */
export async function generateStage(cfg: DemoConfig, p: DemoPaths): Promise<{ clips: GeneratedClip[]; metrics: Metrics }> {
  const g = cfg.generate;
  await makeDirs(p.clips);
  const i2vSrc = await synthClip(p, g.i2v.clip);
  const firstFrame = path.join(p.clips, 'i2v-first-frame.png');
  const { frames } = await readVideo(i2vSrc.file);
  await writeImage(firstFrame, frames[0]);
  const extSrc = await synthClip(p, g.extend.clip);
  const common = { steps: g.steps, cfg: g.cfg };
  const jobs: (GenerateJob & { mode: GeneratedClip['mode'] })[] = [
    ...g.t2v.map((prompt, i) => ({ ...common, mode: 't2v' as const, prompt, seed: i, out: path.join(p.clips, `t2v-${i + 1}.mp4`) })),
    { ...common, mode: 'i2v', prompt: g.i2v.prompt, seed: 100, image: firstFrame, out: path.join(p.clips, 'i2v.mp4') },
    { ...common, mode: 'extend', prompt: g.extend.prompt, seed: 200, extend: extSrc.file, direction: 'forward', frames: g.extend.frames, out: path.join(p.clips, 'extend.mp4') },
  ];
  const res = await runGenerate({ model: p.model, jobs });
  const clips = res.map((r, i): GeneratedClip => ({ mode: jobs[i].mode, prompt: jobs[i].prompt, path: r.out, frames: r.frames, seconds: round(r.seconds, 2) }));
  await writeFileAtomic(path.join(p.clips, 'sources.json'), JSON.stringify({ i2v_first_frame_of: i2vSrc.file, extended: extSrc.file }, null, 2) + '\n');
  return { clips, metrics: { t2v: g.t2v.length, i2v: 1, extend: 1, seconds_per_clip: round(clips.reduce((s, c) => s + c.seconds, 0) / clips.length, 2) } };
}
