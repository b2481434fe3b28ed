// Geometry of a blob given as flat pixel indices p = y·w + x (from connected components):
// mean position of its pixel coordinates and its inclusive bounding box. Shared by the
// measuring captioner (src/data/caption/measure.ts) and the physics segmenter (src/eval/segment.ts).

export interface BlobExtent {
  /** Mean of the integer pixel coordinates. */
  mx: number;
  my: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function blobExtent(px: readonly number[], w: number): BlobExtent {
  let sx = 0;
  let sy = 0;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  for (const p of px) {
    const x = p % w;
    const y = (p - x) / w;
    sx += x;
    sy += y;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { mx: sx / px.length, my: sy / px.length, x0, y0, x1, y1 };
}
