// Which ffmpeg to run: FFMPEG_PATH, else a system ffmpeg on PATH, else the binary shipped in
// @ffmpeg-installer/ffmpeg (DESIGN.md "Engine"). ffprobe is not needed: probing parses ffmpeg's
// own output (src/data/video.ts).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import ffmpeg from 'fluent-ffmpeg';

const require = createRequire(import.meta.url);
let resolved: { ffmpeg: string; source: string } | null = null;

function onPath(bin: string): string | null {
  try {
    const out = execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out || null;
  } catch {
    return null;
  }
}

/** Resolve the ffmpeg binary and configure fluent-ffmpeg to use it. */
export function ffmpegPath(): { ffmpeg: string; source: string } {
  if (resolved) return resolved;
  if (process.env.FFMPEG_PATH) {
    resolved = { ffmpeg: process.env.FFMPEG_PATH, source: 'FFMPEG_PATH' };
  } else {
    const sys = onPath('ffmpeg');
    if (sys) resolved = { ffmpeg: sys, source: 'system' };
    else resolved = { ffmpeg: (require('@ffmpeg-installer/ffmpeg') as { path: string }).path, source: '@ffmpeg-installer/ffmpeg' };
  }
  ffmpeg.setFfmpegPath(resolved.ffmpeg);
  return resolved;
}
