// The per-path kernels of the tensor product, on lane-major tiles (see tp_common.h).
//
// A path couples the components (ia, ib, k) of its two inputs A, B (A is x1 or x2, B the other one) and of its
// target O through the nonzero CG values c (coefficient included), and its channels through a list of entries
// (a, b, oc, wi): channel a of A and channel b of B feed channel oc of O with the weight wi (-1: none).
//
//   O[oc][k] += w[wi] * sum_{(ia, ib, k)} c * A[a][ia] * B[b][ib]
//
// Four kernels per path compute the four partial derivatives of the scalar <G, O>: the product itself (F) and
// its transposes with respect to A (TA), B (TB) and the weights (TW). "fold" paths group the entries by the
// channel b and first fold B[b] into the CG values (M[p] over the distinct (ia, k) pairs p); "elementwise" paths
// (u = v) cannot fold and loop over the CG entries directly.
#pragma once

#include "tp_common.h"

namespace e3tp {

enum Kind : int32_t { kDirectFold = 0, kDirectElem = 1, kWeightFold = 2, kWeightElem = 3 };

struct PathRec {
  int kind, roleA, offA, dA, offB, dB, offO, d3, m3, Q, has_w, w_off, wexp_off, wnumel;
  int nnz, npairs, ngroups, nentries;
  const int32_t* nk;     // nnz entries (ia, ib, k, p, vi) sorted by k
  const int32_t* nia;    // ... sorted by ia
  const int32_t* nib;    // ... sorted by ib
  const int32_t* kst;    // d3 + 1 group starts in nk
  const int32_t* iast;   // dA + 1 group starts in nia
  const int32_t* ibst;   // dB + 1 group starts in nib
  const int32_t* pairs;  // npairs (ia, k), sorted by (k, ia)
  const int32_t* pkst;   // d3 + 1 group starts in pairs
  const int32_t* pia;    // pair indices sorted by (ia, k)
  const int32_t* piast;  // dA + 1 group starts in pia
  const int32_t* groups; // (b, first entry, number of entries)
  const int32_t* entries;  // (a, b, oc, wi)
};

constexpr int kPathRecord = 32;
constexpr int kHeader = 16;

inline PathRec parse_path(const int32_t* tab, int n) {
  const int32_t* r = tab + tab[11] + n * kPathRecord;
  PathRec p;
  p.kind = r[0]; p.roleA = r[1]; p.offA = r[2]; p.dA = r[3]; p.offB = r[4]; p.dB = r[5]; p.offO = r[6];
  p.d3 = r[7]; p.m3 = r[8]; p.Q = r[9]; p.has_w = r[10]; p.w_off = r[11]; p.wexp_off = r[12];
  p.nnz = r[13]; p.nk = tab + r[14]; p.nia = tab + r[15]; p.nib = tab + r[16];
  p.kst = tab + r[17]; p.iast = tab + r[18]; p.ibst = tab + r[19];
  p.npairs = r[20]; p.pairs = tab + r[21]; p.pkst = tab + r[22]; p.pia = tab + r[23]; p.piast = tab + r[24];
  p.ngroups = r[25]; p.groups = tab + r[26]; p.nentries = r[27]; p.entries = tab + r[28];
  p.wnumel = r[29];
  return p;
}

// Where the weights of direct paths live: lane vectors (per-sample tile, or shared weights broadcast over lanes).
template <typename T>
struct WeightLanes {
  const T* lanes;  // row base + wi, each ZT scalars
  int64_t base;
  const T* ones;
  inline const T* at(int wi) const { return wi < 0 ? ones : lanes + (base + wi) * Lanes<T>::ZT; }
};

// ------------------------------------------------------------------------------------------------ fold kernels

template <typename T>
inline void fold_b(const PathRec& P, const T* cg, const T* Bb, T* M) {
  constexpr int ZT = Lanes<T>::ZT;
  std::memset(M, 0, sizeof(T) * P.npairs * ZT);
  for (int e = 0; e < P.nnz; ++e) {
    const int32_t* en = P.nk + 5 * e;
    const T c = cg[en[4]];
    const T* b = Bb + en[1] * ZT;
    T* m = M + en[3] * ZT;
    E3TP_LANES m[l] += c * b[l];
  }
}

// O[oc] += w * (sum over pairs of M[p] * A[a][ia_p]) for one entry; Oo/Aa point at the channel's first component.
template <typename T, bool W>
inline void fold_apply_f(const PathRec& P, const T* M, const T* __restrict Aa, const T* w, T* __restrict Oo) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int k = 0; k < P.d3; ++k) {
    const int p0 = P.pkst[k], p1 = P.pkst[k + 1];
    if (p0 == p1) continue;
    T acc[ZT] = {};
    for (int p = p0; p < p1; ++p) {
      const T* m = M + p * ZT;
      const T* a = Aa + P.pairs[2 * p] * ZT;
      E3TP_LANES acc[l] += m[l] * a[l];
    }
    T* o = Oo + k * ZT;
    if (W) {
      E3TP_LANES o[l] += w[l] * acc[l];
    } else {
      E3TP_LANES o[l] += acc[l];
    }
  }
}

template <typename T, bool W>
inline void fold_apply_ta(const PathRec& P, const T* M, const T* __restrict Oo, const T* w, T* __restrict Aa) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int ia = 0; ia < P.dA; ++ia) {
    const int q0 = P.piast[ia], q1 = P.piast[ia + 1];
    if (q0 == q1) continue;
    T acc[ZT] = {};
    for (int q = q0; q < q1; ++q) {
      const int p = P.pia[q];
      const T* m = M + p * ZT;
      const T* o = Oo + P.pairs[2 * p + 1] * ZT;
      E3TP_LANES acc[l] += m[l] * o[l];
    }
    T* a = Aa + ia * ZT;
    if (W) {
      E3TP_LANES a[l] += w[l] * acc[l];
    } else {
      E3TP_LANES a[l] += acc[l];
    }
  }
}

// Direct paths (and the CG stage of weighted paths, with O the intermediate and no weights).
// A, B, O: tiles of the roles; oofs: row offset of the path's output block in O (0 for an intermediate).
template <typename T>
void fold_forward(const PathRec& P, const T* cg, const T* A, const T* B, T* O, int oofs, const WeightLanes<T>& wl,
                  T* M) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int g = 0; g < P.ngroups; ++g) {
    const int32_t* gr = P.groups + 3 * g;
    fold_b(P, cg, B + (P.offB + gr[0] * P.dB) * ZT, M);
    for (int e = gr[1]; e < gr[1] + gr[2]; ++e) {
      const int32_t* en = P.entries + 4 * e;
      const T* Aa = A + (P.offA + en[0] * P.dA) * ZT;
      T* Oo = O + (oofs + en[2] * P.d3) * ZT;
      if (en[3] >= 0) {
        fold_apply_f<T, true>(P, M, Aa, wl.at(en[3]), Oo);
      } else {
        fold_apply_f<T, false>(P, M, Aa, nullptr, Oo);
      }
    }
  }
}

template <typename T>
void fold_grad_a(const PathRec& P, const T* cg, T* A, const T* B, const T* O, int oofs, const WeightLanes<T>& wl,
                 T* M) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int g = 0; g < P.ngroups; ++g) {
    const int32_t* gr = P.groups + 3 * g;
    fold_b(P, cg, B + (P.offB + gr[0] * P.dB) * ZT, M);
    for (int e = gr[1]; e < gr[1] + gr[2]; ++e) {
      const int32_t* en = P.entries + 4 * e;
      T* Aa = A + (P.offA + en[0] * P.dA) * ZT;
      const T* Oo = O + (oofs + en[2] * P.d3) * ZT;
      if (en[3] >= 0) {
        fold_apply_ta<T, true>(P, M, Oo, wl.at(en[3]), Aa);
      } else {
        fold_apply_ta<T, false>(P, M, Oo, nullptr, Aa);
      }
    }
  }
}

// S[p] = sum over the group's entries of w * A[a][ia_p] * O[oc][k_p]; then B[b][ib] += sum_e c_e S[p_e].
template <typename T>
void fold_grad_b(const PathRec& P, const T* cg, const T* A, T* B, const T* O, int oofs, const WeightLanes<T>& wl,
                 T* S, T* Y) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int g = 0; g < P.ngroups; ++g) {
    const int32_t* gr = P.groups + 3 * g;
    std::memset(S, 0, sizeof(T) * P.npairs * ZT);
    for (int e = gr[1]; e < gr[1] + gr[2]; ++e) {
      const int32_t* en = P.entries + 4 * e;
      const T* Aa = A + (P.offA + en[0] * P.dA) * ZT;
      const T* Oo = O + (oofs + en[2] * P.d3) * ZT;
      if (en[3] >= 0) {
        const T* w = wl.at(en[3]);
        for (int ia = 0; ia < P.dA; ++ia) {
          const T* a = Aa + ia * ZT;
          T* y = Y + ia * ZT;
          E3TP_LANES y[l] = w[l] * a[l];
        }
        Aa = Y;
      }
      for (int p = 0; p < P.npairs; ++p) {
        const T* a = Aa + P.pairs[2 * p] * ZT;
        const T* o = Oo + P.pairs[2 * p + 1] * ZT;
        T* s = S + p * ZT;
        E3TP_LANES s[l] += a[l] * o[l];
      }
    }
    T* Bb = B + (P.offB + gr[0] * P.dB) * ZT;
    for (int ib = 0; ib < P.dB; ++ib) {
      const int e0 = P.ibst[ib], e1 = P.ibst[ib + 1];
      if (e0 == e1) continue;
      T acc[ZT] = {};
      for (int e = e0; e < e1; ++e) {
        const int32_t* en = P.nib + 5 * e;
        const T c = cg[en[4]];
        const T* s = S + en[3] * ZT;
        E3TP_LANES acc[l] += c * s[l];
      }
      T* b = Bb + ib * ZT;
      E3TP_LANES b[l] += acc[l];
    }
  }
}

// gw[wi] += sum_k O[oc][k] * sum_{p in k} M[p] A[a][ia_p]; gw rows as in WeightLanes (lanes, not yet summed).
template <typename T>
void fold_grad_w(const PathRec& P, const T* cg, const T* A, const T* B, const T* O, int oofs, T* gw, int64_t gbase,
                 T* M) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int g = 0; g < P.ngroups; ++g) {
    const int32_t* gr = P.groups + 3 * g;
    fold_b(P, cg, B + (P.offB + gr[0] * P.dB) * ZT, M);
    for (int e = gr[1]; e < gr[1] + gr[2]; ++e) {
      const int32_t* en = P.entries + 4 * e;
      if (en[3] < 0) continue;
      const T* Aa = A + (P.offA + en[0] * P.dA) * ZT;
      const T* Oo = O + (oofs + en[2] * P.d3) * ZT;
      T tot[ZT] = {};
      for (int k = 0; k < P.d3; ++k) {
        const int p0 = P.pkst[k], p1 = P.pkst[k + 1];
        if (p0 == p1) continue;
        T acc[ZT] = {};
        for (int p = p0; p < p1; ++p) {
          const T* m = M + p * ZT;
          const T* a = Aa + P.pairs[2 * p] * ZT;
          E3TP_LANES acc[l] += m[l] * a[l];
        }
        const T* o = Oo + k * ZT;
        E3TP_LANES tot[l] += acc[l] * o[l];
      }
      T* gr_w = gw + (gbase + en[3]) * ZT;
      E3TP_LANES gr_w[l] += tot[l];
    }
  }
}

// ----------------------------------------------------------------------------------------- elementwise kernels
// One loop over the CG entries per channel entry. `sorted`/`starts`: the entries grouped by the target component.

template <typename T>
void elem_forward(const PathRec& P, const T* cg, const T* A, const T* B, T* O, int oofs, const WeightLanes<T>& wl) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int e = 0; e < P.nentries; ++e) {
    const int32_t* en = P.entries + 4 * e;
    const T* Aa = A + (P.offA + en[0] * P.dA) * ZT;
    const T* Bb = B + (P.offB + en[1] * P.dB) * ZT;
    T* Oo = O + (oofs + en[2] * P.d3) * ZT;
    const T* w = wl.at(en[3]);
    for (int k = 0; k < P.d3; ++k) {
      const int e0 = P.kst[k], e1 = P.kst[k + 1];
      if (e0 == e1) continue;
      T acc[ZT] = {};
      for (int q = e0; q < e1; ++q) {
        const int32_t* c = P.nk + 5 * q;
        const T v = cg[c[4]];
        const T* a = Aa + c[0] * ZT;
        const T* b = Bb + c[1] * ZT;
        E3TP_LANES acc[l] += v * a[l] * b[l];
      }
      T* o = Oo + k * ZT;
      E3TP_LANES o[l] += w[l] * acc[l];
    }
  }
}

// Gradient with respect to A (which = 0) or B (which = 1): target[t] += w * sum c * other * O.
template <typename T>
void elem_grad_ab(const PathRec& P, const T* cg, int which, T* A, T* B, const T* O, int oofs,
                  const WeightLanes<T>& wl) {
  constexpr int ZT = Lanes<T>::ZT;
  const int32_t* sorted = which == 0 ? P.nia : P.nib;
  const int32_t* starts = which == 0 ? P.iast : P.ibst;
  const int dt = which == 0 ? P.dA : P.dB;
  for (int e = 0; e < P.nentries; ++e) {
    const int32_t* en = P.entries + 4 * e;
    T* Aa = A + (P.offA + en[0] * P.dA) * ZT;
    T* Bb = B + (P.offB + en[1] * P.dB) * ZT;
    T* tgt = which == 0 ? Aa : Bb;
    const T* other = which == 0 ? Bb : Aa;
    const int oidx = which == 0 ? 1 : 0;
    const T* Oo = O + (oofs + en[2] * P.d3) * ZT;
    const T* w = wl.at(en[3]);
    for (int t = 0; t < dt; ++t) {
      const int e0 = starts[t], e1 = starts[t + 1];
      if (e0 == e1) continue;
      T acc[ZT] = {};
      for (int q = e0; q < e1; ++q) {
        const int32_t* c = sorted + 5 * q;
        const T v = cg[c[4]];
        const T* x = other + c[oidx] * ZT;
        const T* o = Oo + c[2] * ZT;
        E3TP_LANES acc[l] += v * x[l] * o[l];
      }
      T* y = tgt + t * ZT;
      E3TP_LANES y[l] += w[l] * acc[l];
    }
  }
}

template <typename T>
void elem_grad_w(const PathRec& P, const T* cg, const T* A, const T* B, const T* O, int oofs, T* gw,
                 int64_t gbase) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int e = 0; e < P.nentries; ++e) {
    const int32_t* en = P.entries + 4 * e;
    if (en[3] < 0) continue;
    const T* Aa = A + (P.offA + en[0] * P.dA) * ZT;
    const T* Bb = B + (P.offB + en[1] * P.dB) * ZT;
    const T* Oo = O + (oofs + en[2] * P.d3) * ZT;
    T acc[ZT] = {};
    for (int q = 0; q < P.nnz; ++q) {
      const int32_t* c = P.nk + 5 * q;
      const T v = cg[c[4]];
      const T* a = Aa + c[0] * ZT;
      const T* b = Bb + c[1] * ZT;
      const T* o = Oo + c[2] * ZT;
      E3TP_LANES acc[l] += v * a[l] * b[l] * o[l];
    }
    T* g = gw + (gbase + en[3]) * ZT;
    E3TP_LANES g[l] += acc[l];
  }
}

}  // namespace e3tp
