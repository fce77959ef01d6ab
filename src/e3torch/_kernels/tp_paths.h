// The per-path kernels of the tensor product, on lane-major tiles (see tp_common.h).
//
// A path couples the components (ia, ib, k) of its inputs A, B (A is x1 or x2, B the other one) and of its output
// O through the nonzero CG values c (coefficient included), and its channels through a list of entries
// (a, b, oc, wi): channel a of A and channel b of B feed channel oc of O with weight wi (-1: none),
//
//   Phi = sum_entries w[wi] sum_{(ia, ib, k)} c A[a][ia] B[b][ib] G[oc][k]      (G: the cotangent of O)
//
// and one call computes any subset of the partial derivatives of Phi: dPhi/dG (the product itself), dPhi/dA,
// dPhi/dB and dPhi/dw. "fold" paths group the entries by the channel b and first fold B[b] into the CG values
// (M[p] over the distinct (ia, k) pairs p); "elementwise" paths (u = v) loop over the CG entries directly.
// Entries are processed EB at a time so that the index arithmetic of the sparse loops is shared.
#pragma once

#include "tp_common.h"

namespace e3tp {

enum Kind : int32_t { kDirectFold = 0, kDirectElem = 1, kWeightFold = 2, kWeightElem = 3, kWeightScalar = 4 };

struct PathRec {
  int kind, roleA, offA, dA, offB, dB, offO, d3, m3, Q, has_w, w_off, wexp_off, wnumel;
  int w_sa, w_sb, mA, mB;  // kWeightScalar: weight index w_off + a w_sa + b w_sb + w; channel counts
  int nnz, npairs, ngroups, nentries;
  const int32_t* nk;      // nnz entries (ia, ib, k, p, vi) sorted by k
  const int32_t* nia;     // ... sorted by ia
  const int32_t* nib;     // ... sorted by ib
  const int32_t* kst;     // d3 + 1 group starts in nk
  const int32_t* iast;    // dA + 1 group starts in nia
  const int32_t* ibst;    // dB + 1 group starts in nib
  const int32_t* pairs;   // npairs (ia, k), sorted by (k, ia)
  const int32_t* pkst;    // d3 + 1 group starts in pairs
  const int32_t* pia;     // pair indices sorted by (ia, k)
  const int32_t* piast;   // dA + 1 group starts in pia
  const int32_t* groups;  // (b, first entry, number of entries)
  const int32_t* entries; // (a, b, oc, wi)
};

constexpr int kPathRecord = 40;
constexpr int kHeader = 16;
constexpr int EB = 4;

inline PathRec parse_path(const int32_t* tab, int n) {
  const int32_t* r = tab + tab[11] + n * kPathRecord;
  PathRec p;
  p.kind = r[0]; p.roleA = r[1]; p.offA = r[2]; p.dA = r[3]; p.offB = r[4]; p.dB = r[5]; p.offO = r[6];
  p.d3 = r[7]; p.m3 = r[8]; p.Q = r[9]; p.has_w = r[10]; p.w_off = r[11]; p.wexp_off = r[12];
  p.nnz = r[13]; p.nk = tab + r[14]; p.nia = tab + r[15]; p.nib = tab + r[16];
  p.kst = tab + r[17]; p.iast = tab + r[18]; p.ibst = tab + r[19];
  p.npairs = r[20]; p.pairs = tab + r[21]; p.pkst = tab + r[22]; p.pia = tab + r[23]; p.piast = tab + r[24];
  p.ngroups = r[25]; p.groups = tab + r[26]; p.nentries = r[27]; p.entries = tab + r[28];
  p.wnumel = r[29]; p.w_sa = r[30]; p.w_sb = r[31]; p.mA = r[32]; p.mB = r[33];
  return p;
}

// Lane vectors of the weights (a per-sample tile, or shared weights broadcast over the lanes).
template <typename T>
struct WeightLanes {
  const T* lanes = nullptr;  // row (base + wi), ZT scalars each; nullptr: the weights are not an input
  int64_t base = 0;
  const T* ones = nullptr;
  inline const T* at(int wi) const { return wi < 0 || !lanes ? ones : lanes + (base + wi) * Lanes<T>::ZT; }
};

// Operands of one path kernel. Inputs A, B, O (tiles, row offsets offA/offB/oofs); targets gA, gB, gO (tiles of
// the same layout, nullptr when not computed) and gw (weight-gradient lanes at row gbase + wi, or nullptr).
template <typename T>
struct PathArgs {
  const T* A = nullptr;
  const T* B = nullptr;
  const T* O = nullptr;
  T* gA = nullptr;
  T* gB = nullptr;
  T* gO = nullptr;
  int oofs = 0;
  WeightLanes<T> wl{};
  bool weighted = true;  // false: ignore the entries' weights (the CG stage of a weighted path)
  T* gw = nullptr;
  int64_t gbase = 0;
  T* M = nullptr;  // scratch: npairs lane vectors
  T* S = nullptr;  // scratch: npairs lane vectors
  T* Y = nullptr;  // scratch: dA lane vectors
};

template <typename T>
inline void fold_b(const PathRec& P, const T* cg, const T* Bb, T* M) {
  constexpr int ZT = Lanes<T>::ZT;
  std::memset(M, 0, sizeof(T) * P.npairs * ZT);
  for (int e = 0; e < P.nnz; ++e) {
    const int32_t* en = P.nk + 5 * e;
    T* m = M + en[3] * ZT;
    st(m, ld(m) + cg[en[4]] * ld(Bb + en[1] * ZT));
  }
}

// Fold path, entries [e0, e0 + ne) of one group (ne <= EB), with M already folded.
template <typename T, int NE>
inline void fold_entries(const PathRec& P, const PathArgs<T>& X, int e0) {
  constexpr int ZT = Lanes<T>::ZT;
  const T* Aa[NE];
  const T* Oo[NE];
  T* gAa[NE];
  T* gOo[NE];
  LV<T> wv[NE];
  int wi[NE];
  for (int e = 0; e < NE; ++e) {
    const int32_t* en = P.entries + 4 * (e0 + e);
    const int64_t ra = (P.offA + int64_t(en[0]) * P.dA) * ZT, ro = (X.oofs + int64_t(en[2]) * P.d3) * ZT;
    Aa[e] = X.A ? X.A + ra : nullptr;
    gAa[e] = X.gA ? X.gA + ra : nullptr;
    Oo[e] = X.O ? X.O + ro : nullptr;
    gOo[e] = X.gO ? X.gO + ro : nullptr;
    wi[e] = X.weighted ? en[3] : -1;
    wv[e] = ld(X.wl.at(wi[e]));
  }
  const T* M = X.M;
  if (X.gO || X.gw) {  // acc[k] = sum_{p in k} M[p] A[ia_p]; gO[k] += w acc[k]; gw += sum_k acc[k] O[k]
    LV<T> tot[NE] = {};
    for (int k = 0; k < P.d3; ++k) {
      const int p0 = P.pkst[k], p1 = P.pkst[k + 1];
      if (p0 == p1) continue;
      LV<T> acc[NE];
      {
        const LV<T> m = ld(M + p0 * ZT);
        const int ia = P.pairs[2 * p0] * ZT;
        for (int e = 0; e < NE; ++e) acc[e] = m * ld(Aa[e] + ia);
      }
      for (int p = p0 + 1; p < p1; ++p) {
        const LV<T> m = ld(M + p * ZT);
        const int ia = P.pairs[2 * p] * ZT;
        for (int e = 0; e < NE; ++e) acc[e] += m * ld(Aa[e] + ia);
      }
      if (X.gO)
        for (int e = 0; e < NE; ++e) st(gOo[e] + k * ZT, ld(gOo[e] + k * ZT) + wv[e] * acc[e]);
      if (X.gw)
        for (int e = 0; e < NE; ++e) tot[e] += acc[e] * ld(Oo[e] + k * ZT);
    }
    if (X.gw)
      for (int e = 0; e < NE; ++e)
        if (wi[e] >= 0) {
          T* g = X.gw + (X.gbase + wi[e]) * ZT;
          st(g, ld(g) + tot[e]);
        }
  }
  if (X.gA) {  // gA[ia] += w sum_{p in ia} M[p] O[k_p]
    for (int ia = 0; ia < P.dA; ++ia) {
      const int q0 = P.piast[ia], q1 = P.piast[ia + 1];
      if (q0 == q1) continue;
      LV<T> acc[NE] = {};
      for (int q = q0; q < q1; ++q) {
        const int p = P.pia[q];
        const LV<T> m = ld(M + p * ZT);
        const int k = P.pairs[2 * p + 1] * ZT;
        for (int e = 0; e < NE; ++e) acc[e] += m * ld(Oo[e] + k);
      }
      for (int e = 0; e < NE; ++e) st(gAa[e] + ia * ZT, ld(gAa[e] + ia * ZT) + wv[e] * acc[e]);
    }
  }
  if (X.gB) {  // S[p] += w A[ia_p] O[k_p]
    const T* Ya[NE];
    for (int e = 0; e < NE; ++e) {
      if (wi[e] < 0) {
        Ya[e] = Aa[e];
        continue;
      }
      T* y = X.Y + int64_t(e) * P.dA * ZT;
      for (int ia = 0; ia < P.dA; ++ia) st(y + ia * ZT, wv[e] * ld(Aa[e] + ia * ZT));
      Ya[e] = y;
    }
    for (int p = 0; p < P.npairs; ++p) {
      const int ia = P.pairs[2 * p] * ZT, k = P.pairs[2 * p + 1] * ZT;
      LV<T> s = ld(X.S + p * ZT);
      for (int e = 0; e < NE; ++e) s += ld(Ya[e] + ia) * ld(Oo[e] + k);
      st(X.S + p * ZT, s);
    }
  }
}

template <typename T>
void fold_path(const PathRec& P, const T* cg, const PathArgs<T>& X) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int g = 0; g < P.ngroups; ++g) {
    const int32_t* gr = P.groups + 3 * g;
    const int64_t rb = (P.offB + int64_t(gr[0]) * P.dB) * ZT;
    if (X.gO || X.gA || X.gw) fold_b(P, cg, X.B + rb, X.M);
    if (X.gB) std::memset(X.S, 0, sizeof(T) * P.npairs * ZT);
    int e = gr[1];
    const int end = gr[1] + gr[2];
    for (; e + EB <= end; e += EB) fold_entries<T, EB>(P, X, e);
    for (; e < end; ++e) fold_entries<T, 1>(P, X, e);
    if (X.gB) {  // gB[b][ib] += sum_{e in ib} c_e S[p_e]
      T* Bb = X.gB + rb;
      for (int ib = 0; ib < P.dB; ++ib) {
        const int q0 = P.ibst[ib], q1 = P.ibst[ib + 1];
        if (q0 == q1) continue;
        LV<T> acc = {};
        for (int q = q0; q < q1; ++q) {
          const int32_t* en = P.nib + 5 * q;
          acc += cg[en[4]] * ld(X.S + en[3] * ZT);
        }
        st(Bb + ib * ZT, ld(Bb + ib * ZT) + acc);
      }
    }
  }
}

// Elementwise path, entries [e0, e0 + NE).
template <typename T, int NE>
inline void elem_entries(const PathRec& P, const T* cg, const PathArgs<T>& X, int e0) {
  constexpr int ZT = Lanes<T>::ZT;
  const T* Aa[NE];
  const T* Bb[NE];
  const T* Oo[NE];
  T* gAa[NE];
  T* gBb[NE];
  T* gOo[NE];
  LV<T> wv[NE];
  int wi[NE];
  for (int e = 0; e < NE; ++e) {
    const int32_t* en = P.entries + 4 * (e0 + e);
    const int64_t ra = (P.offA + int64_t(en[0]) * P.dA) * ZT, rb = (P.offB + int64_t(en[1]) * P.dB) * ZT;
    const int64_t ro = (X.oofs + int64_t(en[2]) * P.d3) * ZT;
    Aa[e] = X.A ? X.A + ra : nullptr;
    Bb[e] = X.B ? X.B + rb : nullptr;
    Oo[e] = X.O ? X.O + ro : nullptr;
    gAa[e] = X.gA ? X.gA + ra : nullptr;
    gBb[e] = X.gB ? X.gB + rb : nullptr;
    gOo[e] = X.gO ? X.gO + ro : nullptr;
    wi[e] = X.weighted ? en[3] : -1;
    wv[e] = ld(X.wl.at(wi[e]));
  }
  if (X.gO || X.gw) {
    LV<T> tot[NE] = {};
    for (int k = 0; k < P.d3; ++k) {
      const int q0 = P.kst[k], q1 = P.kst[k + 1];
      if (q0 == q1) continue;
      LV<T> acc[NE] = {};
      for (int q = q0; q < q1; ++q) {
        const int32_t* c = P.nk + 5 * q;
        const T v = cg[c[4]];
        const int ia = c[0] * ZT, ib = c[1] * ZT;
        for (int e = 0; e < NE; ++e) acc[e] += v * ld(Aa[e] + ia) * ld(Bb[e] + ib);
      }
      if (X.gO)
        for (int e = 0; e < NE; ++e) st(gOo[e] + k * ZT, ld(gOo[e] + k * ZT) + wv[e] * acc[e]);
      if (X.gw)
        for (int e = 0; e < NE; ++e) tot[e] += acc[e] * ld(Oo[e] + k * ZT);
    }
    if (X.gw)
      for (int e = 0; e < NE; ++e)
        if (wi[e] >= 0) {
          T* g = X.gw + (X.gbase + wi[e]) * ZT;
          st(g, ld(g) + tot[e]);
        }
  }
  for (int which = 0; which < 2; ++which) {  // gA (sum over ib, k) and gB (sum over ia, k)
    T* const* tgt = which == 0 ? gAa : gBb;
    if ((which == 0 ? X.gA : X.gB) == nullptr) continue;
    const int32_t* sorted = which == 0 ? P.nia : P.nib;
    const int32_t* starts = which == 0 ? P.iast : P.ibst;
    const int dt = which == 0 ? P.dA : P.dB;
    const int oidx = 1 - which;
    const T* const* other = which == 0 ? Bb : Aa;
    for (int t = 0; t < dt; ++t) {
      const int q0 = starts[t], q1 = starts[t + 1];
      if (q0 == q1) continue;
      LV<T> acc[NE] = {};
      for (int q = q0; q < q1; ++q) {
        const int32_t* c = sorted + 5 * q;
        const T v = cg[c[4]];
        const int ix = c[oidx] * ZT, k = c[2] * ZT;
        for (int e = 0; e < NE; ++e) acc[e] += v * ld(other[e] + ix) * ld(Oo[e] + k);
      }
      for (int e = 0; e < NE; ++e) st(tgt[e] + t * ZT, ld(tgt[e] + t * ZT) + wv[e] * acc[e]);
    }
  }
}

template <typename T>
void elem_path(const PathRec& P, const T* cg, const PathArgs<T>& X) {
  int e = 0;
  for (; e + EB <= P.nentries; e += EB) elem_entries<T, EB>(P, cg, X, e);
  for (; e < P.nentries; ++e) elem_entries<T, 1>(P, cg, X, e);
}

}  // namespace e3tp
