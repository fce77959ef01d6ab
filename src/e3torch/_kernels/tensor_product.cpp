// Fused CPU tensor product: the operator e3torch_tp::apply and its tile driver.
//
// apply(x1, x2, g, w, tab_i, tab_f, mask, shared, weighted_only, d1, d2, d3, nw) evaluates, in one pass over the
// samples, the partial derivatives of the multilinear form Phi = <g, TP(x1, x2, w)> with respect to the operands
// (role 0: x1, 1: x2, 2: g, 3: w) whose bits are set in mask: role 2 is the product itself, roles 0, 1, 3 its
// transposes (the backward). With weighted_only, only the paths that have weights take part. The derivative with
// respect to a role does not depend on that role, whose operand may then be None. Four outputs, in role order;
// roles not in mask give an empty tensor. The plan (tab_i: int32, tab_f: float64 CG values) is encoded by
// e3torch/_kernels/_tp_ops.py.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "tp_scalar.h"

namespace e3tp {

constexpr int kVersion = 3;

struct Plan {
  const int32_t* tab;
  int n_paths, D[3], NW, NWD, max_pairs, max_T, max_gt, max_dA;
  int64_t max_scalar = 0;  // scratch of the kWeightScalar paths, in lane vectors
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
  for (int n = 0; n < pl.n_paths; ++n) {
    pl.paths.push_back(parse_path(pl.tab, n));
    const PathRec& P = pl.paths.back();
    TORCH_CHECK(P.kind >= 0 && P.kind <= kWeightScalar, "e3torch_tp: unknown path kind ", P.kind);
    if (P.kind == kWeightScalar) {
      TORCH_CHECK(P.d3 <= 64, "e3torch_tp: scalar-weight path with output dimension ", P.d3, " > 64");
      pl.max_scalar = std::max(pl.max_scalar, scalar_scratch(P));
    }
  }
  return pl;
}

struct Operand {
  const void* ptr = nullptr;  // nullptr: not given
  int64_t ld = 0;
};

template <typename T>
struct Output {
  T* ptr = nullptr;
  int64_t ld = 0;
};

struct Job {
  int mask;
  bool shared, weighted_only, need[4];
  bool has(int r) const { return (mask >> r) & 1; }
};

template <typename T>
struct Scratch {
  Buffer<T> in[3], grad[3], wt, gwt, tb, gt, m, s, y, ones, sc;
  Scratch(const Plan& pl, const Job& job) {
    constexpr int ZT = Lanes<T>::ZT;
    for (int r = 0; r < 3; ++r) {
      if (job.need[r]) in[r].resize(int64_t(pl.D[r]) * ZT);
      if (job.has(r)) grad[r].resize(int64_t(pl.D[r]) * ZT);
    }
    if (!job.shared && job.need[3]) wt.resize(int64_t(pl.NW) * ZT);
    if (!job.shared && job.has(3)) gwt.resize(int64_t(pl.NW) * ZT);
    tb.resize(int64_t(pl.max_T) * ZT);
    gt.resize(int64_t(pl.max_gt) * ZT);
    m.resize(int64_t(pl.max_pairs) * ZT);
    s.resize(int64_t(pl.max_pairs) * ZT);
    y.resize(int64_t(EB) * pl.max_dA * ZT);
    sc.resize(pl.max_scalar * ZT);
    ones.resize(ZT);
    std::fill_n(ones.data(), ZT, T(1));
  }
};

template <typename T>
void run_path(const PathRec& P, const Job& job, const T* cg, Scratch<T>& S, const T* w, const T* wexp, T* gl,
              T* gs) {
  constexpr int ZT = Lanes<T>::ZT;
  const int ra = P.roleA, rb = 1 - P.roleA;
  PathArgs<T> X;
  X.A = job.need[ra] ? S.in[ra].data() : nullptr;
  X.B = job.need[rb] ? S.in[rb].data() : nullptr;
  X.M = S.m.data();
  X.S = S.s.data();
  X.Y = S.y.data();
  X.wl.ones = S.ones.data();
  const T* G = job.need[2] ? S.in[2].data() : nullptr;
  if (P.kind == kDirectFold || P.kind == kDirectElem) {
    X.O = G;
    X.oofs = P.offO;
    X.gA = job.has(ra) ? S.grad[ra].data() : nullptr;
    X.gB = job.has(rb) ? S.grad[rb].data() : nullptr;
    X.gO = job.has(2) ? S.grad[2].data() : nullptr;
    if (job.need[3]) {
      X.wl.lanes = job.shared ? wexp : S.wt.data();
      X.wl.base = job.shared ? P.wexp_off : P.w_off;
    }
    if (job.has(3) && P.has_w) {
      X.gw = job.shared ? gl : S.gwt.data();
      X.gbase = job.shared ? P.wexp_off : P.w_off;
    }
    P.kind == kDirectFold ? fold_path(P, cg, X) : elem_path(P, cg, X);
    return;
  }
  if (P.kind == kWeightScalar) {
    X.gA = job.has(ra) ? S.grad[ra].data() : nullptr;
    X.gB = job.has(rb) ? S.grad[rb].data() : nullptr;
    X.gw = job.has(3) ? (job.shared ? gs : S.gwt.data()) : nullptr;
    scalar_path(P, cg, X, job.shared, w, S.wt.data(), G, job.has(2) ? S.grad[2].data() : nullptr, gs, S.gwt.data(),
                S.sc.data());
    return;
  }
  // Weighted paths: CG stage T[q][k] = sum c A B (no weights), then the weight contraction with W[q][w].
  X.weighted = false;
  const int64_t n = int64_t(P.d3) * ZT;
  T* tb = S.tb.data();
  const bool stage = job.has(2) || job.has(3);
  if (stage) {
    std::memset(tb, 0, sizeof(T) * P.Q * n);
    X.gO = tb;
    P.kind == kWeightFold ? fold_path(P, cg, X) : elem_path(P, cg, X);
    X.gO = nullptr;
    if (job.has(2))
      weights_forward(P, job.shared, w, S.wt.data(), tb, S.grad[2].data() + int64_t(P.offO) * ZT);
    if (job.has(3))
      weights_grad(P, job.shared, tb, G + int64_t(P.offO) * ZT, S.gt.data(), gs, S.gwt.data());
  }
  if (job.has(ra) || job.has(rb)) {
    std::memset(tb, 0, sizeof(T) * P.Q * n);
    weights_transpose(P, job.shared, w, S.wt.data(), G + int64_t(P.offO) * ZT, tb);
    X.O = tb;
    X.gA = job.has(ra) ? S.grad[ra].data() : nullptr;
    X.gB = job.has(rb) ? S.grad[rb].data() : nullptr;
    P.kind == kWeightFold ? fold_path(P, cg, X) : elem_path(P, cg, X);
  }
}

template <typename T>
void run_apply(const Plan& pl, const at::Tensor& tab_f, const Job& job, int64_t Z, const Operand ops[4],
               const Output<T> outs[4]) {
  constexpr int ZT = Lanes<T>::ZT;
  std::vector<T> cg(tab_f.numel());
  const double* cgd = tab_f.data_ptr<double>();
  for (size_t i = 0; i < cg.size(); ++i) cg[i] = T(cgd[i]);
  const T* w = static_cast<const T*>(ops[3].ptr);
  Buffer<T> wexp;  // shared weights of the direct paths, broadcast over the lanes once
  if (job.shared && job.need[3] && pl.NWD > 0) {
    wexp.resize(int64_t(pl.NWD) * ZT);
    for (const PathRec& P : pl.paths) {
      if (!P.has_w || P.wexp_off < 0) continue;
      for (int i = 0; i < P.wnumel; ++i) std::fill_n(wexp.data() + (P.wexp_off + i) * ZT, ZT, w[P.w_off + i]);
    }
  }
  const bool reduce_w = job.has(3) && job.shared;
  std::map<int64_t, std::vector<T>> parked;  // shared-weight gradients of finished chunks, waiting for their turn
  int64_t next_merge = 0;
  std::mutex partial_mutex;
  T* gout = reduce_w ? outs[3].ptr : nullptr;
  if (reduce_w) std::fill_n(gout, pl.NW, T(0));
  const int64_t ntiles = (Z + ZT - 1) / ZT;
  // Work is handed out dynamically in chunks of tiles (machines are shared: a descheduled thread should not hold up
  // the others). A chunk is one tile, or, when the shared-weight gradient is summed, one of a fixed set of tile
  // ranges with its own partial sum, added in chunk order: the result does not depend on thread timing.
  const int nthreads = std::max(1, at::get_num_threads());
  const int64_t nchunks = reduce_w ? std::min<int64_t>(ntiles, 4 * nthreads) : ntiles;
  std::atomic<int64_t> next_chunk{0};
  at::parallel_for(0, std::min<int64_t>(nchunks, nthreads), 1, [&](int64_t, int64_t) {
    Scratch<T> S(pl, job);
    Buffer<T> gacc_lane(reduce_w ? int64_t(pl.NWD) * ZT : 0);
    for (int64_t c = next_chunk.fetch_add(1); c < nchunks; c = next_chunk.fetch_add(1)) {
      std::vector<T> gacc_sc(reduce_w ? std::max(pl.NW, 1) : 0, T(0));
      if (reduce_w) std::memset(gacc_lane.data(), 0, sizeof(T) * int64_t(pl.NWD) * ZT);
      const int64_t t0 = reduce_w ? c * ntiles / nchunks : c;
      const int64_t t1 = reduce_w ? (c + 1) * ntiles / nchunks : c + 1;
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t z0 = t * ZT;
        const int nz = int(std::min<int64_t>(ZT, Z - z0));
        for (int r = 0; r < 3; ++r) {
          if (!job.need[r]) continue;
          load_tile(static_cast<const T*>(ops[r].ptr) + z0 * ops[r].ld, ops[r].ld, nz, pl.D[r], S.in[r].data());
        }
        if (!job.shared && job.need[3] && pl.NW > 0) load_tile(w + z0 * ops[3].ld, ops[3].ld, nz, pl.NW, S.wt.data());
        for (int r = 0; r < 3; ++r)
          if (job.has(r)) std::memset(S.grad[r].data(), 0, sizeof(T) * int64_t(pl.D[r]) * ZT);
        if (job.has(3) && !job.shared) std::memset(S.gwt.data(), 0, sizeof(T) * int64_t(pl.NW) * ZT);
        for (const PathRec& P : pl.paths)
          if (P.has_w || !job.weighted_only)
            run_path(P, job, cg.data(), S, w, wexp.data(), gacc_lane.data(), gacc_sc.data());
        for (int r = 0; r < 3; ++r)
          if (job.has(r)) store_tile(S.grad[r].data(), nz, pl.D[r], outs[r].ptr + z0 * outs[r].ld, outs[r].ld);
        if (job.has(3) && !job.shared)
          store_tile(S.gwt.data(), nz, pl.NW, outs[3].ptr + z0 * outs[3].ld, outs[3].ld);
      }
      if (!reduce_w) continue;
      for (const PathRec& P : pl.paths) {  // the lanes of the direct paths' accumulators into the scalar ones
        if (!P.has_w || P.wexp_off < 0) continue;
        for (int i = 0; i < P.wnumel; ++i) {
          const T* v = gacc_lane.data() + (P.wexp_off + i) * ZT;
          T s = T(0);
          for (int l = 0; l < ZT; ++l) s += v[l];
          gacc_sc[P.w_off + i] += s;
        }
      }
      // Add the partial sums in chunk order; a chunk that finishes early waits (parked) for its predecessors.
      std::lock_guard<std::mutex> lock(partial_mutex);
      parked.emplace(c, std::move(gacc_sc));
      for (auto it = parked.find(next_merge); it != parked.end(); it = parked.find(next_merge)) {
        for (int n = 0; n < pl.NW; ++n) gout[n] += it->second[n];
        parked.erase(it);
        ++next_merge;
      }
    }
  });
}

// Fresh large outputs are first touched by the kernel, and page faults on 4 KiB pages cost more than the kernel
// itself. Asking for transparent huge pages on the 2 MiB-aligned interior of the new buffer (a hint, honoured where
// THP is in "madvise" mode) makes the first touch several times cheaper.
inline void advise_huge_pages(const at::Tensor& t) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(1) << 21;
  const size_t bytes = t.numel() * t.element_size();
  if (bytes < 4 * kHuge) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(t.data_ptr()) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(t.data_ptr()) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
}

// Rows with unit column stride, read in place; a broadcast (row stride 0, e.g. the gradient of a sum) keeps its
// single row instead of being materialised.
at::Tensor rows(const at::Tensor& t) {
  if (t.is_contiguous() || (t.dim() == 2 && t.stride(1) == 1)) return t;
  if (t.dim() == 2 && t.stride(0) == 0 && t.size(0) > 0) return t.narrow(0, 0, 1).contiguous().expand(t.sizes());
  return t.contiguous();
}

using Outputs = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

Outputs apply(const c10::optional<at::Tensor>& x1, const c10::optional<at::Tensor>& x2,
              const c10::optional<at::Tensor>& g, const c10::optional<at::Tensor>& w, const at::Tensor& tab_i,
              const at::Tensor& tab_f, int64_t mask, bool shared, bool weighted_only, int64_t d1, int64_t d2,
              int64_t d3, int64_t nw) {
  TORCH_CHECK(mask > 0 && mask < 16, "e3torch_tp::apply: mask must be in [1, 16), got ", mask);
  TORCH_CHECK(tab_i.scalar_type() == at::kInt && tab_i.is_contiguous(), "e3torch_tp::apply: bad int table");
  // CG values: float64, or their bit patterns as int64 (so that module.to(dtype) cannot round them).
  const at::Tensor tf = tab_f.scalar_type() == at::kLong ? tab_f.contiguous().view(at::kDouble)
                                                         : tab_f.to(at::kDouble).contiguous();
  const Plan pl = parse_plan(tab_i);
  const int64_t dims[4] = {d1, d2, d3, nw};
  TORCH_CHECK(pl.D[0] == d1 && pl.D[1] == d2 && pl.D[2] == d3 && pl.NW == nw,
              "e3torch_tp::apply: dimensions do not match the tables");
  Job job{int(mask), shared, weighted_only, {false, false, false, false}};
  const c10::optional<at::Tensor>* given[4] = {&x1, &x2, &g, &w};
  at::Tensor role[4];
  int64_t Z = -1;
  c10::ScalarType dtype = at::kFloat;
  at::TensorOptions options;
  for (int r = 0; r < 4; ++r) {
    job.need[r] = mask != (1 << r);  // every derivative but the one with respect to r needs operand r
    if (!given[r]->has_value()) {
      TORCH_CHECK(!job.need[r], "e3torch_tp::apply: operand ", r, " is required for mask ", mask);
      continue;
    }
    role[r] = rows(**given[r]);
    if (r < 3 && Z < 0) {
      Z = role[r].size(0);
      dtype = role[r].scalar_type();
      options = role[r].options();
    }
  }
  TORCH_CHECK(Z >= 0, "e3torch_tp::apply: at least one of x1, x2, g must be given");
  Operand ops[4];
  for (int r = 0; r < 4; ++r) {
    if (!job.need[r]) continue;
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
  at::Tensor out[4];
  for (int r = 0; r < 4; ++r) {
    if (!job.has(r)) {
      out[r] = at::empty({0}, options);
      continue;
    }
    out[r] = r == 3 && shared ? at::empty({nw}, options) : at::empty({Z, dims[r]}, options);
    if (Z == 0) out[r].zero_();
    advise_huge_pages(out[r]);
  }
  if (Z > 0) {
    AT_DISPATCH_FLOATING_TYPES(dtype, "e3torch_tp::apply", [&] {
      Output<scalar_t> outs[4];
      for (int r = 0; r < 4; ++r) {
        if (!job.has(r)) continue;
        outs[r].ptr = out[r].data_ptr<scalar_t>();
        outs[r].ld = out[r].dim() == 2 ? out[r].stride(0) : 0;
      }
      run_apply<scalar_t>(pl, tf, job, Z, ops, outs);
    });
  }
  return {out[0], out[1], out[2], out[3]};
}

}  // namespace e3tp

TORCH_LIBRARY(e3torch_tp, m) {
  m.def(
      "apply(Tensor? x1, Tensor? x2, Tensor? g, Tensor? w, Tensor tab_i, Tensor tab_f, int mask, bool shared, "
      "bool weighted_only, int d1, int d2, int d3, int nw) -> (Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(e3torch_tp, CPU, m) { m.impl("apply", &e3tp::apply); }
