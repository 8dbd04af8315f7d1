"""The paper's published results, to print beside ours.

Table 1 of Ghosh et al. (ICLR 2020): FID (lower is better) of
reconstructions, of samples from N and from the ex-post 10-component GMM,
and of interpolations, with 10,000 images per column. None marks the
paper's "–" (the two-stage VAE has no GMM column).
"""

from __future__ import annotations

Row = tuple[float, float, float | None, float]  # REC, N, GMM, Interp.

TABLE_1: dict[str, dict[str, Row]] = {
    "mnist": {
        "vae": (18.26, 19.21, 17.66, 18.21),
        "cvvae": (15.15, 33.79, 17.87, 25.12),
        "wae": (10.03, 20.42, 9.39, 14.34),
        "two_stage_vae": (20.31, 18.81, None, 18.35),
        "rae_gp": (14.04, 22.21, 11.54, 15.32),
        "rae_l2": (10.53, 22.22, 8.69, 14.54),
        "rae_sn": (15.65, 19.67, 11.74, 15.15),
        "rae": (11.67, 23.92, 9.81, 14.67),
        "ae": (12.95, 58.73, 10.66, 17.12),
    },
    "cifar10": {
        "vae": (57.94, 106.37, 103.78, 88.62),
        "cvvae": (37.74, 94.75, 86.64, 69.71),
        "wae": (35.97, 117.44, 93.53, 76.89),
        "two_stage_vae": (62.54, 109.77, None, 89.06),
        "rae_gp": (32.17, 83.05, 76.33, 64.08),
        "rae_l2": (32.24, 80.80, 74.16, 62.54),
        "rae_sn": (27.61, 84.25, 75.30, 63.62),
        "rae": (29.05, 83.87, 76.28, 63.27),
        "ae": (30.52, 84.74, 76.47, 61.57),
    },
    "celeba": {
        "vae": (39.12, 48.12, 45.52, 44.49),
        "cvvae": (40.41, 48.87, 49.30, 44.96),
        "wae": (34.81, 53.67, 42.73, 40.93),
        "two_stage_vae": (42.04, 49.70, None, 47.54),
        "rae_gp": (39.71, 116.30, 45.63, 47.00),
        "rae_l2": (43.52, 51.13, 47.97, 45.98),
        "rae_sn": (36.01, 44.74, 40.95, 39.53),
        "rae": (40.18, 48.20, 44.68, 43.67),
        "ae": (40.79, 127.85, 45.10, 50.94),
    },
}
TABLE_1_SAMPLES = 10_000
