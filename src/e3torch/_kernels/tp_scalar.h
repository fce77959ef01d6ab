// Weighted (uvw) paths whose input B is a scalar irrep (l = 0, e.g. one-hot species): the CG block is diagonal,
// C[k, 0, k] = c_k, and contracting the weights with the scalar input first,
//
//   W2[a][w] = sum_b W[a, b, w] B[b]            (per sample)
//   O[w][k] += c_k sum_a W2[a][w] A[a][k]
//
// costs 2 (mA mB m3 + mA m3 d) flops per sample instead of 2 mA mB m3 d. The transposes reuse W2 (dA) or
// Y[a][w] = sum_k c_k A[a][k] G[w][k] (dB, dW). Channels a are processed in chunks so W2 and Y stay in cache.
#pragma once

#include <algorithm>

#include "tp_weights.h"

namespace e3tp {

// C[i][j] += scale[j] * sum_p X[i][p] Y[p][j] on lane vectors (elementwise products); strides in lane vectors.
// Blocks of NI x NJ accumulators stay in registers over p.
template <typename T, int NI, int NJ>
inline void lane_block(int Pn, const T* X, int64_t xsi, int64_t xsp, const T* Y, int64_t ysp, int64_t ysj, T* C,
                       int64_t csi, int64_t csj, const T* scale) {
  constexpr int ZT = Lanes<T>::ZT;
  LV<T> acc[NI][NJ] = {};
  for (int p = 0; p < Pn; ++p) {
    LV<T> x[NI], y[NJ];
    for (int i = 0; i < NI; ++i) x[i] = ld(X + (i * xsi + p * xsp) * ZT);
    for (int j = 0; j < NJ; ++j) y[j] = ld(Y + (p * ysp + j * ysj) * ZT);
    for (int i = 0; i < NI; ++i)
      for (int j = 0; j < NJ; ++j) acc[i][j] += x[i] * y[j];
  }
  for (int i = 0; i < NI; ++i)
    for (int j = 0; j < NJ; ++j) {
      T* c = C + (i * csi + j * csj) * ZT;
      st(c, ld(c) + (scale ? scale[j] : T(1)) * acc[i][j]);
    }
}

template <typename T, int NI>
inline void lane_row(int nj, int Pn, const T* X, int64_t xsi, int64_t xsp, const T* Y, int64_t ysp, int64_t ysj,
                     T* C, int64_t csi, int64_t csj, const T* scale) {
  switch (nj) {
    case 4: lane_block<T, NI, 4>(Pn, X, xsi, xsp, Y, ysp, ysj, C, csi, csj, scale); break;
    case 3: lane_block<T, NI, 3>(Pn, X, xsi, xsp, Y, ysp, ysj, C, csi, csj, scale); break;
    case 2: lane_block<T, NI, 2>(Pn, X, xsi, xsp, Y, ysp, ysj, C, csi, csj, scale); break;
    default: lane_block<T, NI, 1>(Pn, X, xsi, xsp, Y, ysp, ysj, C, csi, csj, scale); break;
  }
}

template <typename T>
void lane_gemm(int I, int J, int Pn, const T* X, int64_t xsi, int64_t xsp, const T* Y, int64_t ysp, int64_t ysj,
               T* C, int64_t csi, int64_t csj, const T* scale) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int i0 = 0; i0 < I; i0 += 4) {
    const int ni = std::min(4, I - i0);
    for (int j0 = 0; j0 < J; j0 += 4) {
      const int nj = std::min(4, J - j0);
      const T* Xb = X + i0 * xsi * ZT;
      const T* Yb = Y + j0 * ysj * ZT;
      T* Cb = C + (i0 * csi + j0 * csj) * ZT;
      const T* sb = scale ? scale + j0 : nullptr;
      switch (ni) {
        case 4: lane_row<T, 4>(nj, Pn, Xb, xsi, xsp, Yb, ysp, ysj, Cb, csi, csj, sb); break;
        case 3: lane_row<T, 3>(nj, Pn, Xb, xsi, xsp, Yb, ysp, ysj, Cb, csi, csj, sb); break;
        case 2: lane_row<T, 2>(nj, Pn, Xb, xsi, xsp, Yb, ysp, ysj, Cb, csi, csj, sb); break;
        default: lane_row<T, 1>(nj, Pn, Xb, xsi, xsp, Yb, ysp, ysj, Cb, csi, csj, sb); break;
      }
    }
  }
}

struct ScalarLayout {
  int mA, mB, m3, d, w_sa, w_sb, chunk;  // weight index: w_off + a * w_sa + b * w_sb + w
};

inline ScalarLayout scalar_layout(const PathRec& P) {
  ScalarLayout s;
  s.mA = P.mA;
  s.mB = P.mB;
  s.m3 = P.m3;
  s.d = P.d3;
  s.w_sa = P.w_sa;
  s.w_sb = P.w_sb;
  const int64_t per_channel = int64_t(s.m3) * 64;  // bytes of W2[a] (or Y[a]) for one channel
  s.chunk = int(std::max<int64_t>(1, std::min<int64_t>(s.mA, (int64_t(128) << 10) / per_channel)));
  return s;
}

// Scratch (in lane vectors) of scalar_path: W2 or Y, c_k A, and a transposed Y row.
inline int64_t scalar_scratch(const PathRec& P) {
  const ScalarLayout L = scalar_layout(P);
  return int64_t(L.chunk) * L.m3 + int64_t(L.chunk) * L.d + L.m3;
}

// W2[a][w] (a in [a0, a0 + na)) from the shared or per-sample weights and the scalar input B.
template <typename T>
void scalar_w2(const PathRec& P, const ScalarLayout& L, bool shared, const T* w, const T* wt, const T* B, int a0,
               int na, T* W2) {
  constexpr int ZT = Lanes<T>::ZT;
  std::memset(W2, 0, sizeof(T) * na * L.m3 * ZT);
  const T* Bb = B + int64_t(P.offB) * ZT;
  for (int a = 0; a < na; ++a) {
    const int64_t wa = P.w_off + int64_t(a0 + a) * L.w_sa;
    T* dst = W2 + int64_t(a) * L.m3 * ZT;
    if (shared) {
      gemm_acc<T>(L.m3, ZT, L.mB, w + wa, 1, L.w_sb, Bb, ZT, dst, ZT);
      continue;
    }
    for (int b = 0; b < L.mB; ++b) {
      const LV<T> x = ld(Bb + b * ZT);
      for (int c = 0; c < L.m3; ++c) st(dst + c * ZT, ld(dst + c * ZT) + x * ld(wt + (wa + b * L.w_sb + c) * ZT));
    }
  }
}

template <typename T>
void scalar_path(const PathRec& P, const T* cg, const PathArgs<T>& X, bool shared, const T* w, const T* wt,
                 const T* G, T* gO, T* gs, T* gwt, T* scratch) {
  constexpr int ZT = Lanes<T>::ZT;
  const ScalarLayout L = scalar_layout(P);
  T ck[64];
  for (int k = 0; k < L.d && k < 64; ++k) ck[k] = cg[P.nk[5 * k + 4]];
  const T* A = X.A ? X.A + int64_t(P.offA) * ZT : nullptr;
  T* gA = X.gA ? X.gA + int64_t(P.offA) * ZT : nullptr;
  const T* Gb = G ? G + int64_t(P.offO) * ZT : nullptr;
  T* gOb = gO ? gO + int64_t(P.offO) * ZT : nullptr;
  T* W2 = scratch;                                   // chunk x m3 lane vectors
  T* CA = W2 + int64_t(L.chunk) * L.m3 * ZT;         // chunk x d: c_k A[a][k]
  T* Yt = CA + int64_t(L.chunk) * L.d * ZT;          // ZT x m3 scalars (transposed Y[a])
  for (int a0 = 0; a0 < L.mA; a0 += L.chunk) {
    const int na = std::min(L.chunk, L.mA - a0);
    if (A) {
      for (int a = 0; a < na; ++a)
        for (int k = 0; k < L.d; ++k) st(CA + (a * L.d + k) * ZT, ck[k] * ld(A + ((a0 + a) * L.d + k) * ZT));
    }
    if (gOb || gA) {
      scalar_w2(P, L, shared, w, wt, X.B, a0, na, W2);
      if (gOb)  // O[w][k] += sum_a W2[a][w] CA[a][k]
        lane_gemm<T>(L.m3, L.d, na, W2, 1, L.m3, CA, L.d, 1, gOb, L.d, 1, nullptr);
      if (gA)  // gA[a][k] += c_k sum_w W2[a][w] G[w][k]
        lane_gemm<T>(na, L.d, L.m3, W2, L.m3, 1, Gb, L.d, 1, gA + int64_t(a0) * L.d * ZT, L.d, 1, ck);
    }
    if (X.gB || X.gw) {
      T* Y = W2;  // Y[a][w] = sum_k CA[a][k] G[w][k]
      std::memset(Y, 0, sizeof(T) * na * L.m3 * ZT);
      lane_gemm<T>(na, L.m3, L.d, CA, L.d, 1, Gb, 1, L.d, Y, L.m3, 1, nullptr);
      const T* Bb = X.B ? X.B + int64_t(P.offB) * ZT : nullptr;
      for (int a = 0; a < na; ++a) {
        const int64_t wa = P.w_off + int64_t(a0 + a) * L.w_sa;
        const T* Ya = Y + int64_t(a) * L.m3 * ZT;
        if (X.gB) {  // gB[b] += sum_w W[a, b, w] Y[a][w]
          T* gBb = X.gB + int64_t(P.offB) * ZT;
          if (shared) {
            gemm_acc<T>(L.mB, ZT, L.m3, w + wa, L.w_sb, 1, Ya, ZT, gBb, ZT);
          } else {
            for (int b = 0; b < L.mB; ++b) {
              LV<T> acc = {};
              for (int c = 0; c < L.m3; ++c) acc += ld(wt + (wa + b * L.w_sb + c) * ZT) * ld(Ya + c * ZT);
              st(gBb + b * ZT, ld(gBb + b * ZT) + acc);
            }
          }
        }
        if (X.gw) {  // dW[a, b, w] += B[b] Y[a][w] (summed over the lanes when shared)
          if (shared) {
            transpose_matrix(Ya, L.m3, ZT, ZT, Yt, L.m3);  // Yt[l][c] = Y[a][c][l]
            gemm_acc<T>(L.mB, L.m3, ZT, Bb, ZT, 1, Yt, L.m3, gs + wa, L.w_sb);
          } else {
            for (int b = 0; b < L.mB; ++b) {
              const LV<T> x = ld(Bb + b * ZT);
              for (int c = 0; c < L.m3; ++c) {
                T* g = gwt + (wa + b * L.w_sb + c) * ZT;
                st(g, ld(g) + x * ld(Ya + c * ZT));
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace e3tp
