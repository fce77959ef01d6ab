// Fused CPU tensor product: the operator e3torch_tp::apply and its tile driver.
//
// apply(a, b, c, tab_i, tab_f, target, shared, weighted_only, d1, d2, d3, nw) computes one of the four partial
// derivatives of the multilinear form <G, TP(x1, x2, W)> (of its weighted paths only, if weighted_only): target 2 is the product itself, targets 0, 1, 3 its transposes with
// respect to x1, x2 and the weights. (a, b, c) are the three other operands in the order x1, x2, G, W. The plan
// (tab_i: int32 tables, tab_f: float64 CG values) is encoded by e3torch/_kernels/_tp_ops.py.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "tp_paths.h"

namespace e3tp {

constexpr int kVersion = 1;

struct Plan {
  const int32_t* tab;
  int n_paths, D[3], NW, NWD, max_pairs, max_T, max_gt, max_dA;
  std::vector<PathRec> paths;
};

inline Plan parse_plan(const at::Tensor& tab_i) {
  Plan pl;
  pl.tab = tab_i.data_ptr<int32_t>();
  const int32_t* h = pl.tab;
  TORCH_CHECK(h[0] == kVersion, "e3torch_tp: table version ", h[0], " does not match the kernel version ", kVersion);
  pl.n_paths = h[1];
  pl.D[0] = h[2]; pl.D[1] = h[3]; pl.D[2] = h[4];
  pl.NW = h[5]; pl.NWD = h[6]; pl.max_pairs = h[7]; pl.max_T = h[8]; pl.max_gt = h[9]; pl.max_dA = h[10];
  pl.paths.reserve(pl.n_paths);
  for (int n = 0; n < pl.n_paths; ++n) pl.paths.push_back(parse_path(pl.tab, n));
  return pl;
}

struct Operand {
  const void* ptr = nullptr;
  int64_t ld = 0;
};

template <typename T>
struct Scratch {
  std::vector<T> x[3], wt, gwt, tb, gt, m, s, y, ones;
  explicit Scratch(const Plan& pl, bool per_sample_w) {
    constexpr int ZT = Lanes<T>::ZT;
    for (int r = 0; r < 3; ++r) x[r].assign(std::max(pl.D[r], 1) * ZT, T(0));
    if (per_sample_w) {
      wt.assign(std::max(pl.NW, 1) * ZT, T(0));
      gwt.assign(std::max(pl.NW, 1) * ZT, T(0));
    }
    tb.assign(std::max(pl.max_T, 1) * ZT, T(0));
    gt.assign(std::max(pl.max_gt, 1) * ZT, T(0));
    m.assign(std::max(pl.max_pairs, 1) * ZT, T(0));
    s.assign(std::max(pl.max_pairs, 1) * ZT, T(0));
    y.assign(std::max(pl.max_dA, 1) * ZT, T(0));
    ones.assign(ZT, T(1));
  }
};

// The weight contraction of a weighted (uvw, uuw, u<vw) path, per-sample weights (lane vectors).
template <typename T>
void weight_stage_per_sample(const PathRec& P, int target, const T* wt, T* O, T* tb, T* gwt) {
  constexpr int ZT = Lanes<T>::ZT;
  const int d3 = P.d3, m3 = P.m3;
  for (int q = 0; q < P.Q; ++q)
    for (int w = 0; w < m3; ++w) {
      const int64_t row = P.w_off + int64_t(q) * m3 + w;
      const T* wv = wt + row * ZT;
      T* Ow = O + (P.offO + w * d3) * ZT;
      T* Tq = tb + int64_t(q) * d3 * ZT;
      if (target == 2) {
        for (int k = 0; k < d3; ++k) {
          T* o = Ow + k * ZT;
          const T* t = Tq + k * ZT;
          E3TP_LANES o[l] += wv[l] * t[l];
        }
      } else if (target == 3) {
        T acc[ZT] = {};
        for (int k = 0; k < d3; ++k) {
          const T* o = Ow + k * ZT;
          const T* t = Tq + k * ZT;
          E3TP_LANES acc[l] += o[l] * t[l];
        }
        T* g = gwt + row * ZT;
        E3TP_LANES g[l] += acc[l];
      } else {
        for (int k = 0; k < d3; ++k) {
          const T* o = Ow + k * ZT;
          T* t = Tq + k * ZT;
          E3TP_LANES t[l] += wv[l] * o[l];
        }
      }
    }
}

template <typename T>
void run_path(const Plan& pl, const PathRec& P, int target, bool shared, const T* cg, Scratch<T>& S, const T* w,
              const T* wexp, T* gacc_lane, T* gacc_sc) {
  constexpr int ZT = Lanes<T>::ZT;
  T* X[3] = {S.x[0].data(), S.x[1].data(), S.x[2].data()};
  T* A = X[P.roleA];
  T* B = X[1 - P.roleA];
  T* O = X[2];
  const bool fold = P.kind == kDirectFold || P.kind == kWeightFold;
  WeightLanes<T> wl{shared ? wexp : S.wt.data(), shared ? P.wexp_off : P.w_off, S.ones.data()};
  if (P.kind == kDirectFold || P.kind == kDirectElem) {
    if (target == 2) {
      fold ? fold_forward(P, cg, A, B, O, P.offO, wl, S.m.data()) : elem_forward(P, cg, A, B, O, P.offO, wl);
    } else if (target == 3) {
      if (!P.has_w) return;
      T* gw = shared ? gacc_lane : S.gwt.data();
      const int64_t gbase = shared ? P.wexp_off : P.w_off;
      fold ? fold_grad_w(P, cg, A, B, O, P.offO, gw, gbase, S.m.data())
           : elem_grad_w(P, cg, A, B, O, P.offO, gw, gbase);
    } else if (fold) {
      target == P.roleA ? fold_grad_a(P, cg, A, B, O, P.offO, wl, S.m.data())
                        : fold_grad_b(P, cg, A, B, O, P.offO, wl, S.s.data(), S.y.data());
    } else {
      elem_grad_ab(P, cg, target == P.roleA ? 0 : 1, A, B, O, P.offO, wl);
    }
    return;
  }
  // Weighted paths: CG stage into the intermediate tb[q][k] (no weights), then the weight contraction.
  const WeightLanes<T> none{S.ones.data(), 0, S.ones.data()};
  T* tb = S.tb.data();
  const int64_t n = int64_t(P.d3) * ZT;
  std::memset(tb, 0, sizeof(T) * P.Q * n);
  if (target == 2 || target == 3) {
    fold ? fold_forward(P, cg, A, B, tb, 0, none, S.m.data()) : elem_forward(P, cg, A, B, tb, 0, none);
  }
  if (!shared) {
    weight_stage_per_sample(P, target, S.wt.data(), O, tb, S.gwt.data());
  } else if (target == 2) {
    gemm_acc<T>(P.m3, n, P.Q, w + P.w_off, 1, P.m3, tb, n, O + int64_t(P.offO) * ZT, n);
  } else if (target == 3) {
    T* gt = S.gt.data();  // gt[kk][w] = O[w][kk]
    const T* Ob = O + int64_t(P.offO) * ZT;
    for (int w2 = 0; w2 < P.m3; ++w2)
      for (int64_t kk = 0; kk < n; ++kk) gt[kk * P.m3 + w2] = Ob[w2 * n + kk];
    gemm_acc<T>(P.Q, P.m3, n, tb, n, 1, gt, P.m3, gacc_sc + P.w_off, P.m3);
  } else {
    gemm_acc<T>(P.Q, n, P.m3, w + P.w_off, P.m3, 1, O + int64_t(P.offO) * ZT, n, tb, n);
  }
  if (target == 0 || target == 1) {
    if (fold) {
      target == P.roleA ? fold_grad_a(P, cg, A, B, tb, 0, none, S.m.data())
                        : fold_grad_b(P, cg, A, B, tb, 0, none, S.s.data(), S.y.data());
    } else {
      elem_grad_ab(P, cg, target == P.roleA ? 0 : 1, A, B, tb, 0, none);
    }
  }
}

template <typename T>
void run_apply(const Plan& pl, const at::Tensor& tab_f, int target, bool shared, bool weighted_only, int64_t Z,
               const Operand ops[4], T* out, int64_t ldo) {
  constexpr int ZT = Lanes<T>::ZT;
  std::vector<T> cg(tab_f.numel());
  const double* cgd = tab_f.data_ptr<double>();
  for (size_t i = 0; i < cg.size(); ++i) cg[i] = T(cgd[i]);
  const T* w = static_cast<const T*>(ops[3].ptr);
  // Shared weights of the direct paths, broadcast over lanes once.
  std::vector<T> wexp;
  if (shared && target != 3 && pl.NWD > 0) {
    wexp.resize(int64_t(pl.NWD) * ZT);
    for (const PathRec& P : pl.paths) {
      if (!P.has_w || P.wexp_off < 0) continue;
      for (int i = 0; i < P.wnumel; ++i) std::fill_n(wexp.data() + (P.wexp_off + i) * ZT, ZT, w[P.w_off + i]);
    }
  }
  const bool reduce_w = target == 3 && shared;
  std::vector<std::pair<int64_t, std::vector<T>>> partial;  // shared-weight gradient of each chunk
  std::mutex partial_mutex;
  const int64_t ntiles = (Z + ZT - 1) / ZT;
  const int tdim = target < 3 ? pl.D[target] : pl.NW;
  at::parallel_for(0, ntiles, 1, [&](int64_t t0, int64_t t1) {
    Scratch<T> S(pl, !shared);
    std::vector<T> gacc_lane(reduce_w ? int64_t(std::max(pl.NWD, 1)) * ZT : 0, T(0));
    std::vector<T> gacc_sc(reduce_w ? std::max(pl.NW, 1) : 0, T(0));
    T* gl = gacc_lane.data();
    T* gs = gacc_sc.data();
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t z0 = t * ZT;
      const int nz = int(std::min<int64_t>(ZT, Z - z0));
      for (int r = 0; r < 3; ++r) {
        if (r == target) continue;
        load_tile(static_cast<const T*>(ops[r].ptr) + z0 * ops[r].ld, ops[r].ld, nz, pl.D[r], S.x[r].data());
      }
      if (!shared && target != 3 && pl.NW > 0)
        load_tile(w + z0 * ops[3].ld, ops[3].ld, nz, pl.NW, S.wt.data());
      T* tgt = target < 3 ? S.x[target].data() : S.gwt.data();
      if (target < 3 || !shared) std::memset(tgt, 0, sizeof(T) * int64_t(tdim) * ZT);
      for (const PathRec& P : pl.paths)
        if (P.has_w || !weighted_only) run_path(pl, P, target, shared, cg.data(), S, w, wexp.data(), gl, gs);
      if (target < 3 || !shared) store_tile(tgt, nz, tdim, out + z0 * ldo, ldo);
    }
    if (!reduce_w) return;
    for (const PathRec& P : pl.paths) {  // lanes of the direct paths' accumulators into the scalar ones
      if (!P.has_w || P.wexp_off < 0) continue;
      for (int i = 0; i < P.wnumel; ++i) {
        const T* v = gl + (P.wexp_off + i) * ZT;
        T s = T(0);
        for (int l = 0; l < ZT; ++l) s += v[l];
        gs[P.w_off + i] += s;
      }
    }
    std::lock_guard<std::mutex> lock(partial_mutex);
    partial.emplace_back(t0, std::move(gacc_sc));
  });
  if (!reduce_w) return;
  std::sort(partial.begin(), partial.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (int n = 0; n < pl.NW; ++n) out[n] = T(0);
  for (const auto& chunk : partial)  // a fixed order: the result does not depend on thread timing
    for (int n = 0; n < pl.NW; ++n) out[n] += chunk.second[n];
}

at::Tensor rows(const at::Tensor& t) { return t.dim() == 2 && t.stride(1) != 1 ? t.contiguous() : t; }

at::Tensor apply(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c, const at::Tensor& tab_i,
                 const at::Tensor& tab_f, int64_t target, bool shared, bool weighted_only, int64_t d1, int64_t d2,
                 int64_t d3, int64_t nw) {
  TORCH_CHECK(target >= 0 && target < 4, "e3torch_tp::apply: target must be in [0, 4), got ", target);
  TORCH_CHECK(tab_i.scalar_type() == at::kInt && tab_i.is_contiguous(), "e3torch_tp::apply: bad int table");
  const at::Tensor tf = tab_f.to(at::kDouble).contiguous();
  const Plan pl = parse_plan(tab_i);
  const int64_t dims[4] = {d1, d2, d3, nw};
  TORCH_CHECK(pl.D[0] == d1 && pl.D[1] == d2 && pl.D[2] == d3 && pl.NW == nw,
              "e3torch_tp::apply: dimensions do not match the tables");
  const at::Tensor ins[3] = {rows(a), rows(b), rows(c)};
  at::Tensor role[4];
  for (int r = 0, i = 0; r < 4; ++r)
    if (r != target) role[r] = ins[i++];
  const int64_t Z = a.size(0);
  const auto dtype = a.scalar_type();
  Operand ops[4];
  for (int r = 0; r < 4; ++r) {
    if (r == target) continue;
    const at::Tensor& t = role[r];
    TORCH_CHECK(t.scalar_type() == dtype, "e3torch_tp::apply: all operands must have the same dtype");
    TORCH_CHECK(t.device().is_cpu(), "e3torch_tp::apply: CPU tensors expected");
    if (r < 3 || !shared) {
      TORCH_CHECK(t.dim() == 2 && t.size(0) == Z && t.size(1) == dims[r], "e3torch_tp::apply: operand ", r,
                  " has shape ", t.sizes(), ", expected (", Z, ", ", dims[r], ")");
      ops[r].ld = t.stride(0);
    } else {
      TORCH_CHECK(t.dim() == 1 && t.size(0) == nw, "e3torch_tp::apply: shared weights of shape ", t.sizes(),
                  ", expected (", nw, ")");
    }
    ops[r].ptr = t.data_ptr();
  }
  at::Tensor out = target == 3 && shared ? at::empty({nw}, a.options()) : at::empty({Z, dims[target]}, a.options());
  if (Z == 0) return out.zero_();
  AT_DISPATCH_FLOATING_TYPES(dtype, "e3torch_tp::apply", [&] {
    run_apply<scalar_t>(pl, tf, int(target), shared, weighted_only, Z, ops, out.data_ptr<scalar_t>(), out.dim() == 2 ? out.stride(0) : 0);
  });
  return out;
}

}  // namespace e3tp

TORCH_LIBRARY(e3torch_tp, m) {
  m.def(
      "apply(Tensor a, Tensor b, Tensor c, Tensor tab_i, Tensor tab_f, int target, bool shared, bool weighted_only, "
      "int d1, int d2, int d3, int nw) -> Tensor");
}

TORCH_LIBRARY_IMPL(e3torch_tp, CPU, m) { m.impl("apply", &e3tp::apply); }
