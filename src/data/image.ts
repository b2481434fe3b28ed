// Still images through sharp: read PNG/JPEG to RGB frames, write PNG/JPEG, resize.
import sharp from 'sharp';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { FileError } from '../util/errors.js';
import type { Frame } from './video.js';

/** Read an image file as an RGB frame (alpha dropped, composited on black). */
export async function readImage(file: string): Promise<Frame> {
  try {
    await fs.access(file);
  } catch {
    throw new FileError(file, 'no such file');
  }
  try {
    const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    throw new FileError(file, `cannot read image: ${(e as Error).message}`);
  }
}

/** Encode a frame as PNG or JPEG bytes. */
export async function encodeImage(frame: Frame, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const img = sharp(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.length), { raw: { width: frame.width, height: frame.height, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 92 }).toBuffer();
}

/** Write a frame to .png/.jpg/.jpeg (atomic). */
export async function writeImage(file: string, frame: Frame): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  const fmt = ext === '.png' ? 'png' : ext === '.jpg' || ext === '.jpeg' ? 'jpeg' : null;
  if (!fmt) throw new FileError(file, `unsupported image extension '${ext}' (use .png or .jpg)`);
  await writeFileAtomic(file, await encodeImage(frame, fmt));
}

/** Resize a frame to width x height (bilinear-ish: sharp's default lanczos3 for downscale is sharper; use 'linear'). */
export async function resizeFrame(frame: Frame, width: number, height: number, kernel: 'nearest' | 'linear' | 'cubic' | 'lanczos3' = 'linear'): Promise<Frame> {
  if (frame.width === width && frame.height === height) return frame;
  const { data } = await sharp(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.length), { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: kernel === 'linear' ? 'linear' : kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
