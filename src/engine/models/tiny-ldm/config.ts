// The tiny LDM's architecture hyper-parameters, in one place: the pretraining builds its training
// graphs from them, the export builds the shipped ONNX files from the same numbers, and the
// manifest records them. Sizes were chosen by measurement (see the report of issue 5): one UNet
// step for one 256x256 image must stay under 100 ms on one ORT thread.

export interface VaeConfig {
  /** channels per resolution level, full resolution first; f = 2^(levels - 1) */
  channels: number[];
  latentChannels: number;
  groups: number;
  /**
   * 'gaussian': the encoder also predicts a log-variance and the pretraining samples
   * z = mean + exp(logvar / 2) * noise with a KL term (SD's KL-f8 design); the shipped encoder
   * still returns the mean. Absent: the plain deterministic autoencoder (TINY_LDM). Left out of
   * TINY_LDM on purpose, so its checkpoint fingerprints stay as they were.
   */
  posterior?: 'gaussian';
  /**
   * The decoder's channels per level (full resolution first), when wider than the encoder's
   * `channels`: a decoder retrained on the frozen encoder's latents (the pretraining's decoder
   * phase) keeps the latents, and so the UNet, valid. Same number of levels as `channels`.
   */
  decoderChannels?: number[];
}

export interface UNetConfig {
  /** channels per resolution level, latent resolution first */
  channels: number[];
  /** latent grid sizes (height = width) that get cross-attention, largest first */
  attentionAt: number[];
  heads: number;
  groups: number;
  /** the UNet also reads the defect mask at full resolution (unet.ts, "Mask input"); absent: no mask input */
  maskInput?: boolean;
  /**
   * the family slot (context token 0) also enters the timestep embedding, as ADM's class label
   * does (unet.ts, "Family embedding"); absent: the family reaches the UNet by cross-attention only
   */
  familyEmbedding?: boolean;
}

export interface SpatialEncoderConfig {
  /** channels of the taps at strides 4, 8 and 16 */
  tapChannels: [number, number, number];
  /** width of the fused pyramid and of the strided convs down to 1x1 */
  fusedChannels: number;
  groups: number;
}

export interface TinyLdmConfig {
  imageSize: number;
  vae: VaeConfig;
  unet: UNetConfig;
  spatial: SpatialEncoderConfig;
  /** width of one context token */
  tokenWidth: number;
  defectTokens: number;
  spatialTokens: number;
  /** parameter initialisation seed */
  seed: number;
}

/** Down-sampling factor of the VAE. */
export function vaeFactor(cfg: VaeConfig): number {
  return 2 ** (cfg.channels.length - 1);
}

export function latentSize(cfg: TinyLdmConfig): number {
  return cfg.imageSize / vaeFactor(cfg.vae);
}

/** 1 family token + the anomaly tokens + the spatial tokens (manifest.ts, context layout). */
export function contextLength(cfg: TinyLdmConfig): number {
  return 1 + cfg.defectTokens + cfg.spatialTokens;
}

/** The shipped model. */
export const TINY_LDM: TinyLdmConfig = {
  imageSize: 256,
  vae: { channels: [24, 48, 64, 96], latentChannels: 16, groups: 8 },
  unet: { channels: [64, 96, 128], attentionAt: [16, 8], heads: 2, groups: 16 },
  spatial: { tapChannels: [16, 32, 32], fusedChannels: 16, groups: 4 },
  tokenWidth: 64,
  defectTokens: 8,
  spatialTokens: 4,
  seed: 20240501,
};

/**
 * Candidate for the next pretraining (issue 5, "Why the content is poor"): the shipped VAE shape
 * with 4 latent channels and a Gaussian posterior (KL-regularised), so the latents the UNet has to
 * model are fewer and smoother. Everything else as TINY_LDM.
 */
export const TINY_LDM_V2: TinyLdmConfig = {
  ...TINY_LDM,
  vae: { ...TINY_LDM.vae, latentChannels: 4, posterior: 'gaussian' },
};

/**
 * TINY_LDM_V2 with the mask input into the UNet (issue 5: thin defects; unet.ts). The autoencoder
 * is V2's, so V2's trained VAE, decoder and cached latents serve it unchanged.
 */
export const TINY_LDM_V3: TinyLdmConfig = {
  ...TINY_LDM_V2,
  unet: { ...TINY_LDM_V2.unet, maskInput: true },
};

/**
 * TINY_LDM_V3 with the family embedding (issue 5: the v3 UNet barely uses its family token; unet.ts).
 * The autoencoder is V2's, so V2's trained VAE, decoder and cached latents serve it unchanged.
 */
export const TINY_LDM_V4: TinyLdmConfig = {
  ...TINY_LDM_V3,
  unet: { ...TINY_LDM_V3.unet, familyEmbedding: true },
};

/** A tiny version for the --smoke run and the tests: 64x64 images, f=8, 8x8 latents. */
export const SMOKE_LDM: TinyLdmConfig = {
  imageSize: 64,
  vae: { channels: [8, 16, 16, 16], latentChannels: 4, groups: 4 },
  unet: { channels: [16, 32], attentionAt: [8, 4], heads: 2, groups: 4 },
  spatial: { tapChannels: [4, 8, 8], fusedChannels: 8, groups: 4 },
  tokenWidth: 16,
  defectTokens: 8,
  spatialTokens: 4,
  seed: 7,
};

/** SMOKE_LDM with the Gaussian posterior (the --plan v2 --smoke run). */
export const SMOKE_LDM_V2: TinyLdmConfig = {
  ...SMOKE_LDM,
  vae: { ...SMOKE_LDM.vae, posterior: 'gaussian' },
};

/** SMOKE_LDM_V2 with the UNet's mask input (the --plan v3 --smoke run). */
export const SMOKE_LDM_V3: TinyLdmConfig = {
  ...SMOKE_LDM_V2,
  unet: { ...SMOKE_LDM_V2.unet, maskInput: true },
};

/** SMOKE_LDM_V3 with the family embedding (the --plan v4 --smoke run). */
export const SMOKE_LDM_V4: TinyLdmConfig = {
  ...SMOKE_LDM_V3,
  unet: { ...SMOKE_LDM_V3.unet, familyEmbedding: true },
};

/** Checks the numbers fit together; throws naming the problem. */
export function checkConfig(cfg: TinyLdmConfig): void {
  const f = vaeFactor(cfg.vae);
  if (cfg.vae.latentChannels < 4 || cfg.vae.latentChannels > 16) throw new Error(`tiny LDM: latent channels must be 4..16, got ${cfg.vae.latentChannels}`);
  const posterior: unknown = cfg.vae.posterior;
  if (posterior !== undefined && posterior !== 'gaussian') throw new Error(`tiny LDM: VAE posterior must be 'gaussian' or absent, got '${String(posterior)}'`);
  const decoder = cfg.vae.decoderChannels;
  if (decoder !== undefined && (decoder.length !== cfg.vae.channels.length || decoder.some((c) => c % cfg.vae.groups !== 0))) {
    throw new Error(`tiny LDM: decoder channels [${decoder}] must have ${cfg.vae.channels.length} levels, each divisible by ${cfg.vae.groups} groups`);
  }
  if (cfg.imageSize % f !== 0) throw new Error(`tiny LDM: image size ${cfg.imageSize} is not divisible by the VAE factor ${f}`);
  const latent = cfg.imageSize / f;
  const levels = cfg.unet.channels.length;
  if (latent % 2 ** levels !== 0) throw new Error(`tiny LDM: latent size ${latent} is not divisible by 2^${levels} (UNet levels)`);
  if (cfg.unet.attentionAt.length < 2) throw new Error('tiny LDM: cross-attention must sit at two resolutions or more');
  for (const g of cfg.unet.attentionAt) {
    if (latent % g !== 0 || g > latent) throw new Error(`tiny LDM: attention grid ${g} does not divide the ${latent}x${latent} latent`);
  }
  if (cfg.imageSize % 16 !== 0) throw new Error(`tiny LDM: the spatial encoder needs an image size divisible by 16, got ${cfg.imageSize}`);
}
