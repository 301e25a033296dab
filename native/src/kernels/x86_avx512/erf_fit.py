#!/usr/bin/python3
# Derives the piecewise erf polynomials of the vectorised GELU (gelu.h in
# x86_avx512/ and x86_avx2/). erf(a) on [0, 4) is cut into intervals of equal
# width; on interval i, erf(a) = P_i(u) with u = a / width - i in [0, 1).
# Each P_i is fitted by iteratively reweighted least squares on Chebyshev
# nodes (close to minimax), rounded to float, and checked in float Horner
# arithmetic against mpmath's erf. Needs numpy and mpmath:
#   /usr/bin/python3 native/src/kernels/x86_avx512/erf_fit.py
import mpmath as mp
import numpy as np

mp.mp.dps = 30


def fit_interval(i, width, degree):
    nodes = 200
    us = np.array([(1 - np.cos(np.pi * (j + 0.5) / nodes)) / 2 for j in range(nodes)])
    ys = np.array([float(mp.erf((i + u) * width)) for u in us])
    weights = np.ones(nodes)
    for _ in range(40):
        v = np.vander(us, degree + 1, increasing=True)
        c, *_ = np.linalg.lstsq(v * weights[:, None], ys * weights, rcond=None)
        err = v @ c - ys
        weights = weights * (np.abs(err) / np.abs(err).max()) ** 0.5 + 1e-3
    return np.float32(c)


def float_horner_error(i, width, c):
    worst = 0.0
    for u in np.linspace(0, 1, 201, dtype=np.float32):
        p = np.float32(c[-1])
        for coefficient in c[-2::-1]:
            p = np.float32(np.float64(p) * np.float64(u) + np.float64(coefficient))  # one rounding, as an FMA
        worst = max(worst, abs(float(p) - float(mp.erf((i + float(u)) * width))))
    return worst


def emit(name, intervals, degree):
    width = 4.0 / intervals
    fits = [fit_interval(i, width, degree) for i in range(intervals)]
    worst = max(float_horner_error(i, width, c) for i, c in enumerate(fits))
    print(f"// {name}: {intervals} intervals of width {width}, degree {degree}; max |error| {worst:.2g}")
    print(f"alignas(64) inline constexpr float kErfCoefficients[{degree + 1}][{intervals}] = {{")
    for d in range(degree + 1):
        row = ", ".join(f"{float(fits[i][d]):.9g}f" for i in range(intervals))
        print(f"    {{{row}}},")
    print("};")


emit("AVX-512", 16, 5)
emit("AVX2", 8, 6)
