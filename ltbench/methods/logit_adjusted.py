"""Logit adjustment (Menon et al., ICLR 2021), loss form, on the baseline model.

The loss adds tau * log-prior to the logits during training only, so the
model learns prior-free scores and is evaluated on its raw logits. Its
multi-label form is the paper's formula applied to each class as a binary
problem: the binary prior of class i is (1 - pi_i, pi_i) with pi_i = n_i / N,
which turns the offset into tau * log(pi_i / (1 - pi_i)) on the sigmoid's
logit (``ltbench.losses.logit_adjusted``). ``loss.tau`` sets tau (1.0, the
paper's default).
"""

from __future__ import annotations

from ltbench.methods.baseline import loss_method

loss_method("logit_adjusted", "logit_adjusted",
            "Logit adjustment (Menon et al. 2021): BCE on logits offset by tau * binary log prior odds.")
