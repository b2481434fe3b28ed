// The README's opening is a contract (the brief and issue 6): what it is and a generated clip, then
// `npm ci` and `npx spacetime demo`, then `npm test`, before any section. A README edit once dropped
// that block unnoticed; this catches it, and in-page links whose heading was renamed or removed.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** GitHub's heading anchor: lower case, punctuation other than '-' and '_' dropped, spaces to '-'. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('README', () => {
  it('opens with the clip, then npm ci and npx spacetime demo, then npm test, before the first section', () => {
    const intro = readme.slice(0, readme.indexOf('\n## '));
    const image = /!\[[^\]]*\]\(([^)]+\.gif)\)/.exec(intro);
    expect(image, 'a GIF in the introduction').not.toBeNull();
    expect(existsSync(path.join(ROOT, image![1])), image![1]).toBe(true);
    const commands = [...intro.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean));
    expect(commands).toEqual(['npm ci', 'npx spacetime demo', 'npm test']);
    expect(intro.indexOf(image![0])).toBeLessThan(intro.indexOf('npm ci'));
  });

  it('every in-page link names a heading', () => {
    const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
    const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });

  it('the npm scripts it names exist', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const named = new Set([...readme.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]));
    expect(named.size).toBeGreaterThan(0);
    for (const s of named) expect(pkg.scripts, `npm run ${s}`).toHaveProperty(s);
  });
});
