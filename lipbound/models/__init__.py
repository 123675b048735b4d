"""Modality encoders and decoders, fusion modules and the multimodal autoencoder (Sections 3.1, 4.1, 5.3)."""

from ._autoencoder import MultimodalAutoencoder, reconstruction_loss
from ._checks import check_finite, check_finite_tensor
from ._conv import PAPER_IMAGE_CHANNELS, ConvDecoder, ConvEncoder, conv_output_sizes
from ._fusion import (
    FUSIONS,
    PAIRS,
    AttentionFusion,
    ConcatFusion,
    Fusion,
    RegularizedAttentionFusion,
    RegularizedScaledAttentionFusion,
    ScaledAttentionFusion,
    SumFusion,
    make_fusion,
    register_fusion,
    spectral_normalize,
)
from ._mlp import PAPER_LATENT_DIM, PAPER_SENSOR_HIDDEN, MLPDecoder, MLPEncoder, activation
from ._residual import Residual

__all__ = [
    "FUSIONS",
    "PAIRS",
    "PAPER_IMAGE_CHANNELS",
    "PAPER_LATENT_DIM",
    "PAPER_SENSOR_HIDDEN",
    "AttentionFusion",
    "ConcatFusion",
    "ConvDecoder",
    "ConvEncoder",
    "Fusion",
    "MLPDecoder",
    "MLPEncoder",
    "MultimodalAutoencoder",
    "RegularizedAttentionFusion",
    "Residual",
    "RegularizedScaledAttentionFusion",
    "ScaledAttentionFusion",
    "SumFusion",
    "activation",
    "check_finite",
    "check_finite_tensor",
    "conv_output_sizes",
    "make_fusion",
    "reconstruction_loss",
    "register_fusion",
    "spectral_normalize",
]
