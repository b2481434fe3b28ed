// Prompt policy hook (the Sora report's red-teaming and text classifiers, reduced to what a
// research tool can ship): configurable blocklist and rewrite rules applied to a prompt before
// generation. Off by default; on with `--policy FILE`. A refused prompt names the rule.
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { FileError, SpacetimeError } from '../util/errors.js';

const RuleSchema = z.object({
  id: z.string().min(1),
  action: z.enum(['block', 'rewrite']),
  /** Whole words or phrases, matched case-insensitively on word boundaries. */
  terms: z.array(z.string().min(1)).default([]),
  /** Regular expressions (JavaScript syntax, case-insensitive). */
  patterns: z.array(z.string().min(1)).default([]),
  /** Replacement for `rewrite` rules. */
  replacement: z.string().optional(),
  reason: z.string().default(''),
});

export const PolicySchema = z.object({
  name: z.string().default('policy'),
  rules: z.array(RuleSchema),
});

export type Policy = z.infer<typeof PolicySchema>;
export type PolicyRule = z.infer<typeof RuleSchema>;

export class PolicyRefusal extends SpacetimeError {
  constructor(readonly rule: PolicyRule) {
    super(`prompt refused by policy rule '${rule.id}'${rule.reason ? `: ${rule.reason}` : ''}`);
    this.name = 'PolicyRefusal';
  }
}

export interface PolicyResult {
  prompt: string;
  applied: string[];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function ruleRegex(rule: PolicyRule): RegExp[] {
  const res = rule.terms.map((t) => new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(t).replace(/\s+/g, '\\s+')}(?![\\p{L}\\p{N}])`, 'giu'));
  for (const p of rule.patterns) res.push(new RegExp(p, 'giu'));
  return res;
}

/** Parse and validate a policy file; bad regexes and schema errors name the file and rule. */
export async function loadPolicy(file: string): Promise<Policy> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new FileError(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON: ${(e as Error).message}`);
  }
  const r = PolicySchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new FileError(file, `${i.path.join('.')}: ${i.message}`);
  }
  for (const rule of r.data.rules) {
    if (rule.action === 'rewrite' && rule.replacement === undefined) throw new FileError(file, `rule '${rule.id}': rewrite needs a replacement`);
    if (rule.terms.length + rule.patterns.length === 0) throw new FileError(file, `rule '${rule.id}': no terms or patterns`);
    try {
      ruleRegex(rule);
    } catch (e) {
      throw new FileError(file, `rule '${rule.id}': bad pattern: ${(e as Error).message}`);
    }
  }
  return r.data;
}

/** Apply rules in order: rewrites change the prompt, the first matching block throws PolicyRefusal. */
export function applyPolicy(policy: Policy, prompt: string): PolicyResult {
  let out = prompt;
  const applied: string[] = [];
  for (const rule of policy.rules) {
    const res = ruleRegex(rule);
    const hit = res.some((re) => re.test(out));
    if (!hit) continue;
    if (rule.action === 'block') throw new PolicyRefusal(rule);
    for (const re of res) out = out.replace(new RegExp(re.source, re.flags), rule.replacement ?? '');
    out = out.replace(/\s{2,}/g, ' ').trim();
    applied.push(rule.id);
  }
  return { prompt: out, applied };
}
