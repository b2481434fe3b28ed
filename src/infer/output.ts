// Writing a generated clip: watermark the frames, encode by extension (mp4/webm/gif, or a
// folder of PNG frames), sign a provenance manifest over the frames as stored, embed it in the
// container and write the JSON sidecar `<out>.json` with every setting and timing.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeDirs, writeFileAtomic } from '../util/atomic.js';
import { FileError } from '../util/errors.js';
import { writeImage } from '../data/image.js';
import { readVideo, writeVideo, type Frame } from '../data/video.js';
import { embedManifest, loadSigningKey, sidecarPath, signManifest, type ProvenanceManifest } from './provenance.js';
import { embedWatermark, loadWatermarkKey } from './watermark.js';

export interface OutputInfo {
  model: { id: string; hash: string };
  settings: Record<string, unknown>;
  timings?: Record<string, number>;
  /** Extra sidecar fields (final prompt, policy rules applied, …). */
  extra?: Record<string, unknown>;
  fps: number;
  watermark?: boolean;
  generator?: string;
}

export const VIDEO_OUT_EXTS = ['.mp4', '.webm', '.gif'];

/** Write frames to `out` with watermark, provenance and sidecar. Returns the manifest. */
export async function writeGenerated(out: string, frames: readonly Frame[], info: OutputInfo): Promise<ProvenanceManifest> {
  const ext = path.extname(out).toLowerCase();
  const isDir = ext === '' || ext === '.png';
  if (!isDir && !VIDEO_OUT_EXTS.includes(ext)) throw new FileError(out, `unsupported output extension '${ext}' (use .mp4, .webm, .gif, or a folder / .png for PNG frames)`);
  const marked = info.watermark === false ? [...frames] : embedWatermark(frames, await loadWatermarkKey());
  let stored: Frame[];
  if (isDir) {
    const dir = ext === '.png' ? out.slice(0, -4) : out;
    await makeDirs(dir);
    await Promise.all(marked.map((f, i) => writeImage(path.join(dir, `frame-${String(i).padStart(5, '0')}.png`), f)));
    stored = marked;
  } else {
    await writeVideo(out, marked, { fps: info.fps });
    // The content hash covers the frames as they decode from the file (lossy codecs change them).
    stored = (await readVideo(out)).frames;
  }
  const manifest = signManifest(stored, { model: info.model, settings: info.settings, generator: info.generator ?? 'spacetime' }, await loadSigningKey());
  if (!isDir) await embedManifest(out, manifest);
  const sidecar = { output: path.basename(out), model: info.model, settings: info.settings, timings: info.timings ?? {}, ...info.extra, watermark: info.watermark !== false, provenance: manifest };
  await writeFileAtomic(sidecarPath(isDir && ext === '.png' ? out.slice(0, -4) : out), JSON.stringify(sidecar, null, 2) + '\n');
  return manifest;
}
