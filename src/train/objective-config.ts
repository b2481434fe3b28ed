// The objective's config (STYLE.md §4: a zod schema per config kind, type by z.infer): rectified
// flow with logit-normal t and a token-count shift (Esser et al. 2024, SD3; Open-Sora 2.0), or
// DDPM eps/v (Ho et al. 2020; Salimans & Ho 2022) with linear/cosine betas and zero terminal SNR
// (Lin et al. 2024); min-SNR-γ weighting (Hang et al. 2023); frame-mask conditioning and caption /
// conditioning dropout for classifier-free guidance (Ho & Salimans 2022).
import { z } from 'zod';

export const CondModesSchema = z
  .object({
    none: z.number().min(0).default(0.6),
    first: z.number().min(0).default(0.15),
    last: z.number().min(0).default(0.05),
    firstLast: z.number().min(0).default(0.05),
    prefix: z.number().min(0).default(0.1),
    suffix: z.number().min(0).default(0.05),
  })
  .strict()
  .refine((m) => Object.values(m).some((p) => p > 0), { message: 'at least one conditioning mode needs a positive probability' });

export const ObjectiveSchema = z
  .object({
    kind: z.enum(['rf', 'ddpm']).default('rf'),
    rf: z
      .object({
        /** Logit-normal t: sigmoid(N(mean, std)) (SD3 §3.1, "lognorm(0, 1)"). */
        logitMean: z.number().default(0),
        logitStd: z.number().positive().default(1),
        /** Shift s = shiftBase · sqrt(tokens / shiftRefTokens) when shiftByTokens, else shiftBase. */
        shiftBase: z.number().positive().default(1),
        shiftRefTokens: z.number().int().positive().default(256),
        shiftByTokens: z.boolean().default(true),
        /**
         * Probability of drawing the unshifted t uniformly on [0, 1] instead of from the logit-normal.
         * The logit-normal density vanishes at t = 1 (SD3 §3.1), where sampling starts and the layout
         * of a clip is chosen; 0 keeps the pure logit-normal (and its random stream).
         */
        uniformMix: z.number().min(0).max(1).default(0),
        /** Sampling default stored with the model. */
        sampleShift: z.number().positive().optional(),
      })
      .strict()
      .prefault({}),
    ddpm: z
      .object({
        schedule: z.enum(['linear', 'cosine']).default('cosine'),
        trainSteps: z.number().int().min(2).default(1000),
        prediction: z.enum(['eps', 'v']).default('v'),
        zeroTerminalSnr: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    weighting: z.enum(['uniform', 'min-snr']).default('uniform'),
    minSnrGamma: z.number().positive().default(5),
    /** Probability that a sample's caption is replaced by the empty caption (CFG). */
    captionDropout: z.number().min(0).max(1).default(0.1),
    /** Probability that a sample's conditioning frames are dropped (image/video CFG). */
    condDropout: z.number().min(0).max(1).default(0.1),
    condModes: CondModesSchema.prefault({}),
    /**
     * Motion weighting α (0 = off): each latent position's loss is weighted by
     * 1 + α·max(0, d − m_t)/s, d its distance from the clip's temporal mean, m_t that distance's
     * median over the frame, s the clip's spread (objective.ts motionWeights), so the few positions
     * that moving objects cover are not drowned by the static background.
     */
    motionWeight: z.number().min(0).default(0),
  })
  .strict()
  .refine((o) => !(o.kind === 'ddpm' && o.ddpm.zeroTerminalSnr && o.ddpm.prediction === 'eps'), {
    message: 'zero terminal SNR needs v-prediction (ε cannot recover x0 at ᾱ = 0; Lin et al. 2024 §3.2)',
  });

export type ObjectiveConfig = z.infer<typeof ObjectiveSchema>;
export type CondModes = z.infer<typeof CondModesSchema>;
