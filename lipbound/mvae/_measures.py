r"""The four KL-based modality measures of arXiv 2411.00522, as lipbound defines them exactly.

For a trained model and a clean sample :math:`x`, let :math:`P_x = \mathcal N(\mu(x), \operatorname{diag}\sigma^2(x))`
be the decoder's output distribution given the **full** input (decoded at the latent mean
:math:`\mu_z(x)`), and :math:`Q^{S}_x` the output distribution given the input with the modalities
outside :math:`S` muted (set to -2). For a set of output dimensions :math:`I`, :math:`P_x|_I` is the
marginal on :math:`I` (a factorized Gaussian, so it keeps the coordinates in :math:`I`). With
:math:`I_M` the dimensions of modality :math:`M`, :math:`A` all 28 dimensions and :math:`\mathcal M`
the five modalities, averaged over the :math:`n` test samples:

.. math::

    \Delta_M(M) = \frac1n \sum_x \mathrm{KL}\big(P_x|_{I_M} \,\|\, Q^{\{M\}}_x|_{I_M}\big), \qquad
    \Delta_{\text{all}}(M) = \frac1n \sum_x \mathrm{KL}\big(P_x \,\|\, Q^{\{M\}}_x\big)

(**single modality error**: only :math:`M` given), and

.. math::

    \delta_M(M) = \frac1n \sum_x \mathrm{KL}\big(P_x|_{I_M} \,\|\, Q^{\mathcal M \setminus \{M\}}_x|_{I_M}\big), \qquad
    \delta_{\text{all}}(M) = \frac1n \sum_x \mathrm{KL}\big(P_x \,\|\, Q^{\mathcal M \setminus \{M\}}_x\big)

(**loss of precision**: all but :math:`M` given). The KL of factorized Gaussians is the closed form
(:func:`gaussian_kl`, summed over the dimensions)

.. math::

    \mathrm{KL}\big(\mathcal N(\mu_1, \sigma_1^2) \,\|\, \mathcal N(\mu_2, \sigma_2^2)\big)
    = \log\frac{\sigma_2}{\sigma_1} + \frac{\sigma_1^2 + (\mu_1 - \mu_2)^2}{2\sigma_2^2} - \frac12 .

Because it is a sum of non-negative per-dimension terms, :math:`\Delta_{\text{all}}(M) \ge \Delta_M(M)`
and :math:`\delta_{\text{all}}(M) \ge \delta_M(M)` always (claim ``mvae-kl-whole-vs-part``). The direction
KL(full || partial) is lipbound's choice: the summary available here does not give the paper's.
"""

from __future__ import annotations

import numpy as np
import torch

from ._data import MODALITIES, modality_columns, mute, only
from ._model import MultimodalVAE, latent_kl

#: measure names in output rows: (name, paper symbol, what is given, where the KL is taken)
MEASURES: dict[str, str] = {
    "single-M": "Delta_M(M): only M given; KL on M's dimensions",
    "single-all": "Delta_all(M): only M given; KL on all 28 dimensions",
    "precision-M": "delta_M(M): all but M given; KL on M's dimensions",
    "precision-all": "delta_all(M): all but M given; KL on all 28 dimensions",
}

#: Burda et al. (2016) activity threshold: latent unit j is active if Var_x(mu_z(x)_j) > 0.01
ACTIVE_THRESHOLD = 0.01


def gaussian_kl(mu1, logvar1, mu2, logvar2):
    r"""Per-dimension :math:`\mathrm{KL}(\mathcal N(\mu_1, e^{\lambda_1}) \| \mathcal N(\mu_2, e^{\lambda_2}))`
    (numpy or torch arrays, broadcast), with :math:`\lambda` the log-variances.

    >>> float(gaussian_kl(np.array(0.0), np.array(0.0), np.array(1.0), np.array(0.0)))
    0.5
    """
    lib = torch if isinstance(mu1, torch.Tensor) else np
    return 0.5 * (logvar2 - logvar1 + (lib.exp(logvar1) + (mu1 - mu2) ** 2) * lib.exp(-logvar2) - 1.0)


@torch.no_grad()
def _decode(model: MultimodalVAE, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.as_tensor(x, dtype=next(model.parameters()).dtype)
    mean, logvar, _, _ = model(t)
    return mean.double().numpy(), logvar.double().numpy()


def per_sample_measures(model: MultimodalVAE, x: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """``{measure: {modality: per-sample KL, shape (n,)}}`` on clean samples ``x`` (n, 28), float64.

    The four measures are the means of these arrays over the samples.
    """
    model.eval()
    full_m, full_lv = _decode(model, x)
    out: dict[str, dict[str, np.ndarray]] = {k: {} for k in MEASURES}
    for name in MODALITIES:
        cols = modality_columns(name)
        for kind, xin in (("single", only(x, name)), ("precision", mute(x, [name]))):
            m, lv = _decode(model, xin)
            kl = gaussian_kl(full_m, full_lv, m, lv)  # (n, 28), every entry >= 0
            out[f"{kind}-M"][name] = kl[:, cols].sum(axis=1)
            out[f"{kind}-all"][name] = kl.sum(axis=1)
    return out


@torch.no_grad()
def diagnostics(model: MultimodalVAE, x: np.ndarray) -> dict[str, float]:
    """Reconstruction and latent statistics on clean samples ``x`` with the full input.

    Keys: ``mse`` (mean over samples and all 28 dimensions of (x - mu)^2 at the latent mean),
    ``mse:<modality>`` (the same on that modality's dimensions), ``latent_kl`` (mean
    KL(q(z|x) || N(0, I)) in nats), ``active_units`` (latent units with Var_x mu_z(x)_j >
    :data:`ACTIVE_THRESHOLD`).
    """
    model.eval()
    t = torch.as_tensor(x, dtype=next(model.parameters()).dtype)
    mean, _, zm, zl = model(t)
    err = (mean.double().numpy() - x) ** 2
    out = {"mse": float(err.mean())}
    for name in MODALITIES:
        out[f"mse:{name}"] = float(err[:, modality_columns(name)].mean())
    out["latent_kl"] = float(latent_kl(zm, zl).double().mean())
    out["active_units"] = float((zm.double().var(dim=0) > ACTIVE_THRESHOLD).sum())
    return out


def measure_means(per_sample: dict[str, dict[str, np.ndarray]], index: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """The four measures (means over samples, or over the rows ``index`` of them: a bootstrap resample)."""
    return {k: {m: float(np.mean(v if index is None else v[index])) for m, v in d.items()} for k, d in per_sample.items()}
