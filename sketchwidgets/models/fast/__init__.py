"""CPU speed kernels that compute what the plain torch layers compute: the Winograd
convolution (:mod:`.winograd`) and pix2pix's folded inference U-Net (:mod:`.inference_unet`)."""
