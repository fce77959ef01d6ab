// The weight contraction of the weighted paths (uvw, weighted uuw, u<vw), between the CG-stage intermediate
// T[q][k] (one row of d3 lane vectors per channel pair q) and the output block O[w][k] through W[q][w]:
//
//   forward    O[w][k] += sum_q W[q][w] T[q][k]
//   transpose  H[q][k] += sum_w W[q][w] G[w][k]          (then the CG stage's transposes give dx1, dx2)
//   gradient   dW[q][w] += sum_{k, lanes} T[q][k] G[w][k]
//
// Shared weights are scalars: register-blocked matrix products over the tile. Per-sample weights are lane
// vectors (one weight matrix per sample): elementwise over the lanes.
#pragma once

#include "tp_paths.h"

namespace e3tp {

template <typename T>
void weights_forward(const PathRec& P, bool shared, const T* w, const T* wt, const T* tb, T* Ob) {
  constexpr int ZT = Lanes<T>::ZT;
  const int64_t n = int64_t(P.d3) * ZT;
  if (shared) {
    gemm_acc<T>(P.m3, int(n), P.Q, w + P.w_off, 1, P.m3, tb, n, Ob, n);
    return;
  }
  for (int q = 0; q < P.Q; ++q) {
    const T* t = tb + q * n;
    for (int c = 0; c < P.m3; ++c) {
      const LV<T> wv = ld(wt + (P.w_off + int64_t(q) * P.m3 + c) * ZT);
      T* o = Ob + c * n;
      for (int k = 0; k < P.d3; ++k) st(o + k * ZT, ld(o + k * ZT) + wv * ld(t + k * ZT));
    }
  }
}

template <typename T>
void weights_transpose(const PathRec& P, bool shared, const T* w, const T* wt, const T* Gb, T* tb) {
  constexpr int ZT = Lanes<T>::ZT;
  const int64_t n = int64_t(P.d3) * ZT;
  if (shared) {
    gemm_acc<T>(P.Q, int(n), P.m3, w + P.w_off, P.m3, 1, Gb, n, tb, n);
    return;
  }
  for (int q = 0; q < P.Q; ++q) {
    T* t = tb + q * n;
    for (int c = 0; c < P.m3; ++c) {
      const LV<T> wv = ld(wt + (P.w_off + int64_t(q) * P.m3 + c) * ZT);
      const T* g = Gb + c * n;
      for (int k = 0; k < P.d3; ++k) st(t + k * ZT, ld(t + k * ZT) + wv * ld(g + k * ZT));
    }
  }
}

// gs: scalar accumulators of the shared-weight gradient (indexed like the flat weights); gwt: per-sample lanes.
template <typename T>
void weights_grad(const PathRec& P, bool shared, const T* tb, const T* Gb, T* gt, T* gs, T* gwt) {
  constexpr int ZT = Lanes<T>::ZT;
  const int64_t n = int64_t(P.d3) * ZT;
  if (shared) {
    transpose_matrix(Gb, P.m3, n, n, gt, P.m3);  // gt[kk][c] = G[c][kk]: the reduction index (k, lane) as rows
    gemm_acc<T>(P.Q, P.m3, int(n), tb, n, 1, gt, P.m3, gs + P.w_off, P.m3);
    return;
  }
  for (int q = 0; q < P.Q; ++q) {
    const T* t = tb + q * n;
    for (int c = 0; c < P.m3; ++c) {
      const T* g = Gb + c * n;
      LV<T> acc = ld(t) * ld(g);
      for (int k = 1; k < P.d3; ++k) acc += ld(t + k * ZT) * ld(g + k * ZT);
      T* dst = gwt + (P.w_off + int64_t(q) * P.m3 + c) * ZT;
      st(dst, ld(dst) + acc);
    }
  }
}

}  // namespace e3tp
