"""Convolutional image encoder and transposed-convolution decoder (the image branch of Section 5.3)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._mlp import PAPER_LATENT_DIM, activation

#: Channel progression of the image encoder of Section 5.3 (3-256-128-64-32-32-32).
PAPER_IMAGE_CHANNELS: tuple[int, ...] = (256, 128, 64, 32, 32, 32)


def conv_output_sizes(size: int, n_layers: int, kernel: int, stride: int, padding: int) -> list[int]:
    """Spatial sizes after each of ``n_layers`` convolutions, starting with the input ``size``.

    >>> conv_output_sizes(32, 3, kernel=5, stride=2, padding=1)
    [32, 15, 7, 3]
    """
    sizes = [int(size)]
    for _ in range(n_layers):
        nxt = (sizes[-1] + 2 * padding - kernel) // stride + 1
        if nxt < 1:
            raise ValueError(
                f"image size {size} is too small for {n_layers} convolutions with kernel {kernel}, "
                f"stride {stride}, padding {padding} (sizes so far {sizes}); use a larger image or "
                "fewer channels"
            )
        sizes.append(nxt)
    return sizes


class ConvEncoder(nn.Module):
    r"""Image encoder: ``len(channels)`` convolutions (kernel 5, stride 2, padding 1, ReLU by
    default), flattened, then a linear map to ``latent_dim``.

    The defaults follow Section 5.3 (channels 3-256-128-64-32-32-32); ``image_size`` must leave a
    positive spatial size after the last convolution (at least 127 for the paper's six layers).

    >>> enc = ConvEncoder(image_size=16, in_channels=1, channels=(4, 4), latent_dim=5)
    >>> enc(torch.zeros(2, 1, 16, 16)).shape
    torch.Size([2, 5])
    """

    def __init__(
        self,
        image_size: int | tuple[int, int],
        in_channels: int = 3,
        channels: Sequence[int] = PAPER_IMAGE_CHANNELS,
        latent_dim: int = PAPER_LATENT_DIM,
        kernel_size: int = 5,
        stride: int = 2,
        padding: int = 1,
        activation_name: str = "relu",
    ) -> None:
        super().__init__()
        h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.in_shape = (int(in_channels), int(h), int(w))
        self.latent_dim = int(latent_dim)
        self.activation_name = activation_name
        self.heights = conv_output_sizes(h, len(channels), kernel_size, stride, padding)
        self.widths = conv_output_sizes(w, len(channels), kernel_size, stride, padding)
        layers: list[nn.Module] = []
        prev = in_channels
        for c in channels:
            layers += [nn.Conv2d(prev, c, kernel_size, stride, padding), activation(activation_name)]
            prev = c
        self.features = nn.Sequential(*layers)
        self.feature_shape = (int(prev), self.heights[-1], self.widths[-1])
        flat = prev * self.heights[-1] * self.widths[-1]
        self.head = nn.Linear(flat, latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x), start_dim=-3))


class ConvDecoder(nn.Module):
    r"""Image decoder mirroring a :class:`ConvEncoder`: linear map, unflatten, transposed
    convolutions with the output padding chosen so each layer restores the encoder's spatial size
    exactly, ReLU between layers and an optional final activation (``sigmoid`` for images in [0, 1]).

    >>> enc = ConvEncoder(image_size=17, in_channels=1, channels=(4, 4), latent_dim=5)
    >>> dec = ConvDecoder.mirror(enc, in_features=5)
    >>> dec(torch.zeros(2, 5)).shape
    torch.Size([2, 1, 17, 17])
    """

    def __init__(
        self,
        in_features: int,
        out_shape: tuple[int, int, int],
        channels: Sequence[int] = PAPER_IMAGE_CHANNELS,
        kernel_size: int = 5,
        stride: int = 2,
        padding: int = 1,
        activation_name: str = "relu",
        final_activation: str | None = None,
    ) -> None:
        super().__init__()
        c_out, h, w = (int(v) for v in out_shape)
        self.in_features = int(in_features)
        self.out_shape = (c_out, h, w)
        hs = conv_output_sizes(h, len(channels), kernel_size, stride, padding)
        ws = conv_output_sizes(w, len(channels), kernel_size, stride, padding)
        rev = list(reversed(channels))
        self.feature_shape = (rev[0], hs[-1], ws[-1])
        self.head = nn.Linear(in_features, rev[0] * hs[-1] * ws[-1])
        layers: list[nn.Module] = []
        targets = list(zip(reversed(hs[:-1]), reversed(ws[:-1])))
        outs = rev[1:] + [c_out]
        prev_h, prev_w = hs[-1], ws[-1]
        for k, (c_prev, c_next, (th, tw)) in enumerate(zip(rev, outs, targets)):
            oph = th - ((prev_h - 1) * stride - 2 * padding + kernel_size)
            opw = tw - ((prev_w - 1) * stride - 2 * padding + kernel_size)
            layers.append(
                nn.ConvTranspose2d(c_prev, c_next, kernel_size, stride, padding, output_padding=(oph, opw))
            )
            if k < len(rev) - 1:
                layers.append(activation(activation_name))
            prev_h, prev_w = th, tw
        if final_activation is not None:
            layers.append(activation(final_activation))
        self.features = nn.Sequential(*layers)

    @classmethod
    def mirror(cls, encoder: ConvEncoder, in_features: int, **kwargs) -> "ConvDecoder":
        """Build the decoder that mirrors ``encoder`` (same channels, convolution geometry and activation)."""
        channels = [m.out_channels for m in encoder.features if isinstance(m, nn.Conv2d)]
        conv = next(m for m in encoder.features if isinstance(m, nn.Conv2d))
        if "activation_name" not in kwargs:
            kwargs["activation_name"] = encoder.activation_name
        return cls(
            in_features,
            encoder.in_shape,
            channels=channels,
            kernel_size=conv.kernel_size[0],
            stride=conv.stride[0],
            padding=conv.padding[0],
            **kwargs,
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = self.head(z).unflatten(-1, self.feature_shape)
        return self.features(y)
