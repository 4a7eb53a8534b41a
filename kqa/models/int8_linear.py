"""Weight-only int8 for a transformers model on CPU: linear layers whose weights sit in memory as int8, one scale
per output row, multiplied by torch's ``_weight_int8pack_mm`` with activations left as they are (bfloat16 or
float32).

Generating a token one prompt at a time reads every weight once, so its time is mostly memory traffic: int8 halves
bfloat16's. Gemma 3 270M's output layer (262,144 x 640, tied to the input embeddings) is 335 MB of bfloat16 read
for every token, most of a token's time; in int8 it is 168 MB. The embedding lookup keeps its own weights (a
lookup reads one row), so only the projection is quantized, into a copy of its own.

Each output row ``w`` is stored as ``round(w / s)`` in [-127, 127] with ``s = max|w| / 127`` (symmetric, computed
at load time from the loaded weights, in well under a second): a weight moves by at most half a step, s / 2.

The output layer's int8 logits are a shortlist: its ``rescore`` (16) highest logits of each position are computed
again from the layer's own weights (the embedding rows, kept for the lookup anyway: 16 x 640 multiply-adds), so
the token greedy decoding picks, and the log-probabilities of likely tokens, are the unquantized model's unless
its best token is not among int8's best 16. Without this, int8's rounding flipped close calls: 9% of closed-book
answers differed from bfloat16's on 200 dev questions.

Example::

    quantize_linears(model, scope="mlp")  # lm_head and the feed-forward layers ("head": lm_head; "all": all)
"""

from __future__ import annotations

from typing import Any

import torch

from kqa.kb.errors import KqaError

RESCORE = 16  # the output layer's best logits of each position recomputed from its unquantized weights
BLOCK = 256  # top-k of a long row: the k blocks of this many with the highest maxima hold its k best values
# the output layer only; it and the decoder's feed-forward (MLP) layers; it and every linear layer of the decoder
SCOPES = ("head", "mlp", "all")


def int8_kernel_error(dtype: torch.dtype) -> str | None:
    """Why weight-only int8 cannot run here with activations of ``dtype``, or None when it can: this torch lacks
    ``_weight_int8pack_mm`` or its CPU kernel fails on a small matrix."""
    kernel = getattr(torch, "_weight_int8pack_mm", None)
    if kernel is None:
        return f"torch {torch.__version__} has no weight-only int8 kernel (torch._weight_int8pack_mm)"
    try:
        kernel(torch.ones((1, 64), dtype=dtype), torch.ones((8, 64), dtype=torch.int8), torch.ones(8, dtype=dtype))
    except (RuntimeError, NotImplementedError) as error:
        return f"torch {torch.__version__}'s weight-only int8 kernel fails on this machine ({str(error)[:200]})"
    return None


def top_indices(y: torch.Tensor, k: int, block: int = BLOCK) -> torch.Tensor:
    """The indices of the ``k`` largest values of each row of ``y`` (rows, n), in no set order: ``y.topk(k)``'s
    set (up to ties), found in the ``k`` blocks of ``block`` values whose maxima are highest (every one of the k
    best lies in such a block), which reads a 262,144-wide row about three times faster than a full top-k."""
    rows, n = y.shape
    if n % block or n // block < k:
        return y.topk(k, dim=-1).indices
    blocks = y.view(rows, n // block, block)
    best = blocks.amax(dim=-1).topk(k, dim=-1).indices  # (rows, k)
    candidates = blocks.gather(1, best[:, :, None].expand(-1, -1, block)).reshape(rows, k * block)
    where = candidates.topk(k, dim=-1).indices
    return best.gather(1, where // block) * block + where % block


def quantize_rows(weight: torch.Tensor, dtype: torch.dtype, rows: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 weights, scales): ``weight`` (out, in) as int8 with one scale per output row in ``dtype``,
    ``weight ~= int8 * scales[:, None]``. The scale is rounded to ``dtype`` before the weights are divided by it,
    so the int8 values are the best ones for the scale the kernel multiplies by. Done ``rows`` at a time, so the
    float32 working copies stay small (the whole output layer in float32 would be 671 MB more at load)."""
    q = torch.empty(weight.shape, dtype=torch.int8)
    scales = torch.empty(weight.shape[0], dtype=dtype)
    for start in range(0, weight.shape[0], rows):
        w = weight[start:start + rows].detach().float()
        s = (w.abs().amax(dim=1) / 127).clamp(min=torch.finfo(torch.float32).tiny).to(dtype)
        q[start:start + rows] = torch.round(w / s.float()[:, None]).clamp(-127, 127)
        scales[start:start + rows] = s
    return q, scales


class Int8Linear(torch.nn.Module):
    """``nn.Linear``'s forward with the weight as int8 rows and per-row scales (see the module docstring); the
    activations keep their dtype, the linear layer's own."""

    def __init__(self, linear: torch.nn.Linear, *, rescore: int = 0):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        q, scales = quantize_rows(linear.weight, linear.weight.dtype)
        self.register_buffer("weight_int8", q)
        self.register_buffer("scales", scales)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone())
        # the top ``rescore`` outputs of each row recomputed from the unquantized weights (not copied: a tied output
        # layer shares them with the embedding lookup); 0 keeps int8's outputs as they are
        self.rescore = min(rescore, self.out_features)
        self.exact = linear.weight.detach() if self.rescore else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        y = torch._weight_int8pack_mm(flat, self.weight_int8, self.scales)
        if self.exact is not None:
            top = top_indices(y, self.rescore)  # (rows, rescore)
            y.scatter_(-1, top, torch.einsum("rki,ri->rk", self.exact[top], flat.to(self.exact.dtype)).to(y.dtype))
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        exact = f", its top {self.rescore} outputs recomputed exactly" if self.rescore else ""
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 weights, a scale per row{exact}"


def quantize_linears(model: Any, scope: str) -> int:
    """Replace ``model``'s output layer (``scope="head"``), it and the ``nn.Linear`` layers of its decoder's
    feed-forward blocks (``"mlp"``: modules named ``mlp``, about 70% of a Gemma 3 layer's weights; attention keeps
    its own), or it and every ``nn.Linear`` of its decoder (``"all"``), by int8 linears built from their current
    weights; returns how many were replaced. A tied output
    layer gets its own int8 copy: the input embeddings stay as they are. Raises ``KqaError`` where the kernel
    cannot run (see ``int8_kernel_error``)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
    head = model.get_output_embeddings()
    if not isinstance(head, torch.nn.Linear):
        raise KqaError(f"int8: {type(model).__name__}'s output layer is not a plain linear layer")
    problem = int8_kernel_error(head.weight.dtype)
    if problem:
        raise KqaError(f"{problem}: weight-only int8 needs it; use --dtype bfloat16 or float32")
    model.set_output_embeddings(Int8Linear(head, rescore=RESCORE))
    replaced = 1
    if scope != "head":
        decoder = model.get_decoder()
        targets = [(name, m) for name, m in decoder.named_modules() if isinstance(m, torch.nn.Linear)
                   and (scope == "all" or "mlp" in name.split("."))]
        for name, linear in targets:
            parent_name, _, child = name.rpartition(".")
            setattr(decoder.get_submodule(parent_name) if parent_name else decoder, child, Int8Linear(linear))
        replaced += len(targets)
    return replaced
