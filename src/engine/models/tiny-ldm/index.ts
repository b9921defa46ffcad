// The built-in tiny latent diffusion model: architecture (VAE, UNet, spatial encoder, token
// table) and the standalone graphs of its package. Pretraining lives in ./train.
export * from './config';
export * from './tokens';
export { vaeEncoder, vaeEncoderPosterior, vaeDecoder, type Posterior, VAE_ENCODER_PREFIX, VAE_DECODER_PREFIX } from './vae';
export { spatialEncoder, SPATIAL_PREFIX } from './spatial-encoder';
export { maskToLatentChannels, tinyLdmUNet, UNET_PREFIX, type UNetInputs } from './unet';
export * from './models';
