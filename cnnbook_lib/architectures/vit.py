"""The Vision Transformer ViT-B/16 (Dosovitskiy et al. 2021), for comparison with the
convolutional networks.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["EncoderBlock", "Encoder", "VisionTransformer", "vit_b_16"]


class EncoderBlock(nn.Module):
    """A pre-norm transformer encoder layer (Dosovitskiy et al. 2021, eq. 2-3):
    ``x + MSA(LN(x))``, then ``x + MLP(LN(x))``; the MLP has one hidden layer with GELU."""

    def __init__(self, dim: int, heads: int, mlp: int, dropout: float = 0.0, eps: float = 1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(mlp, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attention and MLP, each on the normalized input and added to it."""
        y = self.norm1(x)
        x = x + self.drop(self.attn(y, y, y, need_weights=False)[0])
        return x + self.mlp(self.norm2(x))


class Encoder(nn.Module):
    """ViT's encoder: learned position embeddings added to the tokens, dropout, the encoder
    layers, a final layer norm."""

    def __init__(self, tokens: int, layers: int, heads: int, dim: int, mlp: int, dropout: float):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, tokens, dim).normal_(std=0.02))
        self.drop = nn.Dropout(dropout)
        self.layers = nn.Sequential(*(EncoderBlock(dim, heads, mlp, dropout) for _ in range(layers)))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Position embeddings, encoder layers, layer norm."""
        return self.norm(self.layers(self.drop(x + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """The network of :func:`vit_b_16`: patch embedding, class token, :class:`Encoder`, a linear
    head on the class token."""

    def __init__(self, image_size: int = 224, patch: int = 16, layers: int = 12, heads: int = 12,
                 dim: int = 768, mlp: int = 3072, num_classes: int = 1000, dropout: float = 0.0):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.encoder = Encoder((image_size // patch) ** 2 + 1, layers, heads, dim, mlp, dropout)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits from the class token after the encoder."""
        x = self.patch_embed(x).flatten(2).transpose(1, 2)        # (N, patches, dim)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], 1)
        return self.head(self.encoder(x)[:, 0])


def vit_b_16(num_classes: int = 1000, variant: str = "torchvision",
             input_size: int = 224) -> nn.Module:
    """ViT-B/16 of Dosovitskiy et al., "An image is worth 16x16 words: Transformers for image
    recognition at scale", ICLR 2021 (Table 1, "ViT-Base": 12 layers, width 768, MLP 3072,
    12 heads, 86 M parameters) with 16 x 16 patches.

    torchvision's ``vit_b_16`` layout: the patches embedded by a 16x16/16 convolution, a class
    token, learned position embeddings for ``input_size`` (224: 196 patches and the class token),
    12 pre-norm encoder layers (layer norm eps 1e-6, ``nn.MultiheadAttention``), a final layer
    norm, a linear head on the class token: 86,567,656 parameters and 17.56 G MACs at 224 x 224
    (the products of the attention included; see the tests for what ``FlopCounterMode`` sees).
    The paper's network is the same (``variant="paper"``), except that its pre-training head
    has a hidden layer (torchvision's ``representation_size``, None here, as for fine-tuning).
    The position embeddings fix the input to ``input_size`` x ``input_size``, a multiple of 16.
    """
    if input_size % 16:
        raise ValueError(f"vit_b_16: input_size must be a multiple of 16, got {input_size}")
    return VisionTransformer(input_size, num_classes=num_classes)
