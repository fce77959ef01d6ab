// Fused CPU kernels of o3.Linear: the transposes of the (Z, mul, 2l+1) layout are fused into the GEMM packing.
//
// A Linear maps each input block x_i (samples n, channels u, components m; stored x[n, off_i + u * d + m]) to
// output blocks through weight blocks W_p (mul_in x mul_out) scaled by a constant alpha_p:
//     y[n, off_j + v * d + m] = sum_{paths p = (i, j)} alpha_p sum_u W_p[u, v] x[n, off_i + u * d + m].
// Operators (the table tab is (P, 7) int64 rows (in_off, mul_in, out_off, mul_out, d, w_off, bits of alpha_p as a
// float64), so that .to(dtype) leaves it exact):
//   forward(x, w, tab, dim, transpose) -> y (Z, dim): the map above; with transpose, its adjoint (x holds
//       output-shaped rows, y input-shaped ones, W_p^T in place of W_p): the gradient of the input.
//   grad_weight(x, g, tab, nw) -> (nw,): sum over (n, m) of alpha_p x_i^T g_j per path, the weight gradient.
// Both are bilinear, so their autograd formulas (below, in C++: no Python on the per-call path) call them again
// through the dispatcher, and are themselves differentiable to any order. The fake (meta) implementations for
// torch.compile and torch.export are registered from e3torch/_kernels/_linear_ops.py.
//
// Execution: rows (n, m) of a chunk of samples are gathered ("deinterleaved") into a packed panel (rows, mul)
// that stays in cache, multiplied by the prescaled weight block with the register-blocked micro-kernel of
// tp_common.h, and the (rows, mul_out) result is scattered ("interleaved") back into the (n, v, m) layout.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "tp_common.h"

namespace e3lin {

using e3tp::Buffer;

// C[m][n] += sum_k A[m * sam + k * sak] B[k * ldb + n]: tp_common.h's register blocks, with AVX-512 first in
// panels of four lane vectors (6 x 4 accumulators: 24 of the 32 registers), the rest by its gemm_acc.
template <typename T>
inline void gemm_acc(int M, int N, int K, const T* A, int64_t sam, int64_t sak, const T* B, int64_t ldb, T* C,
                     int64_t ldc) {
#if defined(__AVX512F__)
  constexpr int ZT = e3tp::Lanes<T>::ZT, W = 4 * ZT, KC = 256;
  const int N4 = N / W * W;
  if (N4 > 0) {
    for (int k0 = 0; k0 < K; k0 += KC) {
      const int kc = std::min(KC, K - k0);
      const T* Ak = A + k0 * sak;
      const T* Bk = B + k0 * ldb;
      for (int n = 0; n < N4; n += W) {
        int m = 0;
        const T* Bn = Bk + n;
        T* Cn = C + n;
        for (; m + 6 <= M; m += 6) e3tp::gemm_block<T, 6, 4>(kc, Ak + m * sam, sam, sak, Bn, ldb, Cn + m * ldc, ldc);
        for (; m + 2 <= M; m += 2) e3tp::gemm_block<T, 2, 4>(kc, Ak + m * sam, sam, sak, Bn, ldb, Cn + m * ldc, ldc);
        if (m < M) e3tp::gemm_block<T, 1, 4>(kc, Ak + m * sam, sam, sak, Bn, ldb, Cn + m * ldc, ldc);
      }
    }
  }
  if (N4 < N) e3tp::gemm_acc<T>(M, N - N4, K, A, sam, sak, B + N4, ldb, C + N4, ldc);
#else
  e3tp::gemm_acc<T>(M, N, K, A, sam, sak, B, ldb, C, ldc);
#endif
}

// Per-thread scratch that only grows (no allocation or clearing per call); contents are undefined on entry.
template <typename T>
inline T* scratch(int slot, int64_t n) {
  thread_local std::vector<T> buffers[3];
  std::vector<T>& b = buffers[slot];
  if (int64_t(b.size()) < n + 16) b.resize(size_t(n + 16));
  return b.data();
}

struct Path {
  int64_t src_off, src_mul, dst_off, dst_mul, d, w_off;  // source and target blocks of this direction
  double alpha;
};

struct Target {  // one output block and the paths into it
  int64_t off, mul, d;
  std::vector<int> paths;
};

// Rows of the packed panel per chunk: enough samples that a panel of K <= 256 columns stays in L2.
inline int64_t chunk_samples(int64_t d, int64_t width) {
  int64_t rows = std::max<int64_t>(48, std::min<int64_t>(192, 24576 / std::max<int64_t>(1, width)));
  return std::max<int64_t>(1, rows / d);
}

// dst[(s * d + m) * ldd + u] = src[s * lds + u * d + m] for s < S, u < mul, m < d.
template <typename T, int D>
inline void deinterleave_fixed(const T* __restrict src, int64_t lds, int64_t S, int64_t mul, T* __restrict dst,
                               int64_t ldd) {
  for (int64_t s = 0; s < S; ++s) {
    const T* x = src + s * lds;
    T* a = dst + s * D * ldd;
    for (int64_t u = 0; u < mul; ++u)
      for (int m = 0; m < D; ++m) a[m * ldd + u] = x[u * D + m];
  }
}

template <typename T>
inline void deinterleave(const T* src, int64_t lds, int64_t S, int64_t mul, int64_t d, T* dst, int64_t ldd) {
  switch (d) {
    case 3: deinterleave_fixed<T, 3>(src, lds, S, mul, dst, ldd); return;
    case 5: deinterleave_fixed<T, 5>(src, lds, S, mul, dst, ldd); return;
    case 7: deinterleave_fixed<T, 7>(src, lds, S, mul, dst, ldd); return;
    default:
      for (int64_t s = 0; s < S; ++s)
        for (int64_t u = 0; u < mul; ++u)
          for (int64_t m = 0; m < d; ++m) dst[(s * d + m) * ldd + u] = src[s * lds + u * d + m];
  }
}

// dst[s * ldd + v * d + m] = src[(s * d + m) * lds + v]: the inverse of deinterleave.
template <typename T, int D>
inline void interleave_fixed(const T* __restrict src, int64_t lds, int64_t S, int64_t mul, T* __restrict dst,
                             int64_t ldd) {
  for (int64_t s = 0; s < S; ++s) {
    const T* c = src + s * D * lds;
    T* y = dst + s * ldd;
    for (int64_t v = 0; v < mul; ++v)
      for (int m = 0; m < D; ++m) y[v * D + m] = c[m * lds + v];
  }
}

template <typename T>
inline void interleave(const T* src, int64_t lds, int64_t S, int64_t mul, int64_t d, T* dst, int64_t ldd) {
  switch (d) {
    case 1:
      for (int64_t s = 0; s < S; ++s) std::memcpy(dst + s * ldd, src + s * lds, sizeof(T) * mul);
      return;
    case 3: interleave_fixed<T, 3>(src, lds, S, mul, dst, ldd); return;
    case 5: interleave_fixed<T, 5>(src, lds, S, mul, dst, ldd); return;
    case 7: interleave_fixed<T, 7>(src, lds, S, mul, dst, ldd); return;
    default:
      for (int64_t s = 0; s < S; ++s)
        for (int64_t v = 0; v < mul; ++v)
          for (int64_t m = 0; m < d; ++m) dst[s * ldd + v * d + m] = src[(s * d + m) * lds + v];
  }
}

inline std::vector<Path> parse(const at::Tensor& tab, bool transpose) {
  TORCH_CHECK(tab.device().is_cpu() && tab.dtype() == at::kLong && tab.dim() == 2 && tab.size(1) == 7 &&
                  tab.is_contiguous(),
              "e3torch_linear: expected tab to be a contiguous (P, 7) int64 CPU tensor, got ", tab.sizes(), " ",
              tab.dtype());
  const int64_t* t = tab.data_ptr<int64_t>();
  std::vector<Path> paths;
  for (int64_t p = 0; p < tab.size(0); ++p) {
    const int64_t* r = t + 7 * p;
    double alpha;
    std::memcpy(&alpha, r + 6, sizeof(double));
    Path P{r[0], r[1], r[2], r[3], r[4], r[5], alpha};
    TORCH_CHECK(P.src_mul >= 0 && P.dst_mul >= 0 && P.d >= 1 && P.src_off >= 0 && P.dst_off >= 0 && P.w_off >= 0,
                "e3torch_linear: invalid path record ", p);
    if (transpose) {
      std::swap(P.src_off, P.dst_off);
      std::swap(P.src_mul, P.dst_mul);
    }
    paths.push_back(P);
  }
  return paths;
}

inline void check_data(const at::Tensor& x, const char* name) {
  TORCH_CHECK(x.device().is_cpu(), "e3torch_linear: expected ", name, " on the CPU, got ", x.device());
  TORCH_CHECK(x.dim() == 2, "e3torch_linear: expected ", name, " of shape (Z, dim), got ", x.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
              "e3torch_linear: expected float32 or float64 ", name, ", got ", x.dtype());
}

template <typename T>
void forward_impl(const at::Tensor& x, const at::Tensor& w, const std::vector<Path>& paths, bool transpose,
                  at::Tensor& y) {
  const int64_t Z = x.size(0), ldx = x.stride(0), dim = y.size(1);
  const T* xp = x.data_ptr<T>();
  T* yp = y.data_ptr<T>();
  // Prescaled weight blocks, (src_mul, dst_mul) row-major: alpha W_p, or alpha W_p^T for the transpose.
  std::vector<int64_t> woff(paths.size());
  int64_t total = 0;
  for (size_t p = 0; p < paths.size(); ++p) {
    woff[p] = total;
    total += paths[p].src_mul * paths[p].dst_mul;
  }
  TORCH_CHECK(w.dim() == 1, "e3torch_linear: expected shared weights (nw,), got ", w.sizes());
  const T* wp = w.data_ptr<T>();
  std::vector<T> wbuf(std::max<int64_t>(1, total));
  for (size_t p = 0; p < paths.size(); ++p) {
    const Path& P = paths[p];
    TORCH_CHECK(P.w_off + P.src_mul * P.dst_mul <= w.size(0), "e3torch_linear: weight too short for path ", p);
    const T a = T(P.alpha);
    T* dst = wbuf.data() + woff[p];
    const T* src = wp + P.w_off;
    if (!transpose) {
      for (int64_t i = 0; i < P.src_mul * P.dst_mul; ++i) dst[i] = a * src[i];
    } else {  // stored (dst_mul, src_mul) = (mul_in, mul_out) of the forward map
      for (int64_t u = 0; u < P.src_mul; ++u)
        for (int64_t v = 0; v < P.dst_mul; ++v) dst[u * P.dst_mul + v] = a * src[v * P.src_mul + u];
    }
  }
  // Output blocks: every distinct (off, mul, d) target, with its paths (blocks without any path are zeroed).
  std::vector<Target> targets;
  for (size_t p = 0; p < paths.size(); ++p) {
    const Path& P = paths[p];
    TORCH_CHECK(P.src_off + P.src_mul * P.d <= x.size(1) && P.dst_off + P.dst_mul * P.d <= dim,
                "e3torch_linear: path ", p, " out of bounds");
    if (P.src_mul == 0 || P.dst_mul == 0) continue;
    auto it = std::find_if(targets.begin(), targets.end(), [&](const Target& t) { return t.off == P.dst_off; });
    if (it == targets.end()) {
      targets.push_back(Target{P.dst_off, P.dst_mul, P.d, {}});
      it = targets.end() - 1;
    }
    TORCH_CHECK(it->mul == P.dst_mul && it->d == P.d, "e3torch_linear: inconsistent target block at ", P.dst_off);
    it->paths.push_back(int(p));
  }
  std::vector<char> covered(dim, 0);
  for (const Target& t : targets) std::fill(covered.begin() + t.off, covered.begin() + t.off + t.mul * t.d, 1);
  std::vector<std::pair<int64_t, int64_t>> gaps;  // column ranges to zero
  for (int64_t c = 0; c < dim;) {
    if (covered[c]) {
      ++c;
      continue;
    }
    int64_t e = c;
    while (e < dim && !covered[e]) ++e;
    gaps.push_back({c, e});
    c = e;
  }
  int64_t max_rows = 1, max_k = 1, max_n = 1;
  for (const Target& t : targets) {
    for (int p : t.paths) max_k = std::max(max_k, paths[p].src_mul);
    max_n = std::max(max_n, t.mul);
  }
  const int64_t ldy = y.stride(0);
  const int64_t grain = 64;
  at::parallel_for(0, Z, grain, [&](int64_t z0, int64_t z1) {
    int64_t rows_cap = 1;
    for (const Target& t : targets) rows_cap = std::max(rows_cap, chunk_samples(t.d, max_k) * t.d);
    T* apack = scratch<T>(0, rows_cap * max_k);
    T* cbuf = scratch<T>(1, rows_cap * max_n);
    for (const auto& g : gaps)
      for (int64_t z = z0; z < z1; ++z) std::fill(yp + z * ldy + g.first, yp + z * ldy + g.second, T(0));
    for (const Target& t : targets) {
      const int64_t S = chunk_samples(t.d, max_k);
      for (int64_t s0 = z0; s0 < z1; s0 += S) {
        const int64_t ns = std::min(S, z1 - s0), M = ns * t.d;
        T* c = cbuf;
        std::memset(c, 0, sizeof(T) * M * t.mul);
        for (int p : t.paths) {
          const Path& P = paths[p];
          const T* src = xp + s0 * ldx + P.src_off;
          const T* B = wbuf.data() + woff[p];
          if (P.d == 1) {  // rows are samples: read x in place
            gemm_acc<T>(int(M), int(t.mul), int(P.src_mul), src, ldx, 1, B, P.dst_mul, c, t.mul);
          } else {
            deinterleave(src, ldx, ns, P.src_mul, P.d, apack, P.src_mul);
            gemm_acc<T>(int(M), int(t.mul), int(P.src_mul), apack, P.src_mul, 1, B, P.dst_mul, c, t.mul);
          }
        }
        interleave(c, t.mul, ns, t.mul, t.d, yp + s0 * ldy + t.off, ldy);
      }
    }
  });
}

at::Tensor forward(const at::Tensor& x_, const at::Tensor& w_, const at::Tensor& tab, int64_t dim, bool transpose) {
  check_data(x_, "x");
  TORCH_CHECK(w_.scalar_type() == x_.scalar_type(), "e3torch_linear: expected weights of dtype ", x_.dtype(),
              ", got ", w_.dtype());
  const at::Tensor x = x_.stride(-1) == 1 ? x_ : x_.contiguous();
  const at::Tensor w = w_.contiguous();
  const std::vector<Path> paths = parse(tab, transpose);
  at::Tensor y = at::empty({x.size(0), dim}, x.options());
  if (x.size(0) == 0 || dim == 0) return y;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "e3torch_linear_forward",
                             [&] { forward_impl<scalar_t>(x, w, paths, transpose, y); });
  return y;
}

template <typename T>
void grad_weight_impl(const at::Tensor& x, const at::Tensor& g, const std::vector<Path>& paths, at::Tensor& gw) {
  const int64_t Z = x.size(0), ldx = x.stride(0), ldg = g.stride(0), nw = gw.size(0);
  const T* xp = x.data_ptr<T>();
  const T* gp = g.data_ptr<T>();
  int64_t max_mul = 1, max_d = 1;
  for (const Path& P : paths) {
    TORCH_CHECK(P.src_off + P.src_mul * P.d <= x.size(1) && P.dst_off + P.dst_mul * P.d <= g.size(1) &&
                    P.w_off + P.src_mul * P.dst_mul <= nw,
                "e3torch_linear: path out of bounds");
    max_mul = std::max({max_mul, P.src_mul, P.dst_mul});
    max_d = std::max(max_d, P.d);
  }
  const int nthreads = std::max(1, at::get_num_threads());
  const int64_t S_cap = 256;  // samples per chunk (rows S * d of the panels)
  const int64_t nchunks = (Z + S_cap - 1) / S_cap;
  const int nparts = int(std::min<int64_t>(nchunks, nthreads));
  std::vector<Buffer<T>> parts(nparts);
  at::parallel_for(0, nparts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t part = p0; part < p1; ++part) {
      Buffer<T>& acc = parts[part];
      acc.resize(nw);  // zeroed
      T* apack = scratch<T>(0, S_cap * max_d * max_mul);
      T* bpack = scratch<T>(1, S_cap * max_d * max_mul);
      const int64_t c0 = nchunks * part / nparts, c1 = nchunks * (part + 1) / nparts;
      for (int64_t ch = c0; ch < c1; ++ch) {
        const int64_t s0 = ch * S_cap, ns = std::min(S_cap, Z - s0);
        for (const Path& P : paths) {
          if (P.src_mul == 0 || P.dst_mul == 0) continue;
          const int64_t K = ns * P.d;
          const T* A;
          int64_t lda;
          if (P.d == 1) {
            A = xp + s0 * ldx + P.src_off;
            lda = ldx;
          } else {
            deinterleave(xp + s0 * ldx + P.src_off, ldx, ns, P.src_mul, P.d, apack, P.src_mul);
            A = apack;
            lda = P.src_mul;
          }
          const T* B;
          int64_t ldb;
          if (P.d == 1) {
            B = gp + s0 * ldg + P.dst_off;
            ldb = ldg;
          } else {
            deinterleave(gp + s0 * ldg + P.dst_off, ldg, ns, P.dst_mul, P.d, bpack, P.dst_mul);
            B = bpack;
            ldb = P.dst_mul;
          }
          // acc[u][v] += sum_k A[k][u] B[k][v]
          gemm_acc<T>(int(P.src_mul), int(P.dst_mul), int(K), A, 1, lda, B, ldb, acc.data() + P.w_off, P.dst_mul);
        }
      }
    }
  });
  T* out = gw.data_ptr<T>();
  std::fill(out, out + nw, T(0));
  for (const Path& P : paths) {
    const T a = T(P.alpha);
    for (int64_t i = P.w_off; i < P.w_off + P.src_mul * P.dst_mul; ++i) {
      T s = T(0);
      for (int part = 0; part < nparts; ++part) s += parts[part].data()[i];
      out[i] += a * s;
    }
  }
}

at::Tensor grad_weight(const at::Tensor& x_, const at::Tensor& g_, const at::Tensor& tab, int64_t nw) {
  check_data(x_, "x");
  check_data(g_, "g");
  TORCH_CHECK(g_.scalar_type() == x_.scalar_type() && g_.size(0) == x_.size(0),
              "e3torch_linear: expected g of dtype ", x_.dtype(), " with ", x_.size(0), " rows, got ", g_.dtype(),
              " with ", g_.size(0));
  const at::Tensor x = x_.stride(-1) == 1 ? x_ : x_.contiguous();
  const at::Tensor g = g_.stride(-1) == 1 ? g_ : g_.contiguous();
  const std::vector<Path> paths = parse(tab, false);
  at::Tensor gw = at::empty({nw}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "e3torch_linear_grad_weight",
                             [&] { grad_weight_impl<scalar_t>(x, g, paths, gw); });
  return gw;
}

// ---------------------------------------------------------------------------------------------------------------
// Autograd. <g, F(x, w)> = <F^T(g, w), x> = <G(x, g), w>: every derivative is one of the two operators again.

inline at::Tensor call_forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& tab, int64_t dim,
                               bool transpose) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("e3torch_linear::forward", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, bool)>();
  return op.call(x, w, tab, dim, transpose);
}

inline at::Tensor call_grad_weight(const at::Tensor& x, const at::Tensor& g, const at::Tensor& tab, int64_t nw) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("e3torch_linear::grad_weight", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t)>();
  return op.call(x, g, tab, nw);
}

// A feature width (never the batch size): static, so reading it does not specialise a symbolic batch.
inline int64_t static_dim(const c10::IValue& v) { return v.toSymInt().guard_int(__FILE__, __LINE__); }

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class ForwardFn : public torch::autograd::Function<ForwardFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const at::Tensor& tab,
                            int64_t dim, bool transpose) {
    ctx->save_for_backward({x, w, tab});
    ctx->saved_data["dim_x"] = x.sym_size(1);  // (sym_size: no guard on a symbolic batch)
    ctx->saved_data["transpose"] = transpose;
    at::AutoDispatchBelowADInplaceOrView guard;
    return call_forward(x, w, tab, dim, transpose);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1], &tab = saved[2];
    const bool transpose = ctx->saved_data["transpose"].toBool();
    // once for both products (the gradient of a sum arrives expanded, with stride 0)
    const at::Tensor g = grads[0].defined() ? grads[0].contiguous() : grads[0];
    const int64_t nw = w.sym_size(0).guard_int(__FILE__, __LINE__);  // the weights' size is static
    at::Tensor gx, gw;
    if (g.defined() && ctx->needs_input_grad(0))  // <g, F(x, w)> = <F^T(g, w), x>
      gx = call_forward(g, w, tab, static_dim(ctx->saved_data["dim_x"]), !transpose);
    if (g.defined() && ctx->needs_input_grad(1))  // = <G(x, g), w>; the adjoint: <g, F^T(x, w)> = <G(g, x), w>
      gw = transpose ? call_grad_weight(g, x, tab, nw) : call_grad_weight(x, g, tab, nw);
    return {gx, gw, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

class GradWeightFn : public torch::autograd::Function<GradWeightFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& g, const at::Tensor& tab,
                            int64_t nw) {
    ctx->save_for_backward({x, g, tab});
    ctx->saved_data["dim_x"] = x.sym_size(1);  // (sym_size: no guard on a symbolic batch)
    ctx->saved_data["dim_g"] = g.sym_size(1);
    at::AutoDispatchBelowADInplaceOrView guard;
    return call_grad_weight(x, g, tab, nw);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &g = saved[1], &tab = saved[2];
    const at::Tensor k = grads[0].defined() ? grads[0].contiguous() : grads[0];
    at::Tensor gx, gg;
    if (k.defined() && ctx->needs_input_grad(0))  // <k, G(x, g)> = <g, F(x, k)> = <F^T(g, k), x>
      gx = call_forward(g, k, tab, static_dim(ctx->saved_data["dim_x"]), true);
    if (k.defined() && ctx->needs_input_grad(1))
      gg = call_forward(x, k, tab, static_dim(ctx->saved_data["dim_g"]), false);
    return {gx, gg, at::Tensor(), at::Tensor()};
  }
};

// Without anything to differentiate, straight to the kernel (no graph node, nothing saved).
inline bool needs_graph(const at::Tensor& a, const at::Tensor& b) {
  return at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
}

at::Tensor forward_autograd(const at::Tensor& x, const at::Tensor& w, const at::Tensor& tab, int64_t dim,
                            bool transpose) {
  if (needs_graph(x, w)) return ForwardFn::apply(x, w, tab, dim, transpose);
  at::AutoDispatchBelowADInplaceOrView guard;
  return call_forward(x, w, tab, dim, transpose);
}

at::Tensor grad_weight_autograd(const at::Tensor& x, const at::Tensor& g, const at::Tensor& tab, int64_t nw) {
  if (needs_graph(x, g)) return GradWeightFn::apply(x, g, tab, nw);
  at::AutoDispatchBelowADInplaceOrView guard;
  return call_grad_weight(x, g, tab, nw);
}

}  // namespace e3lin

TORCH_LIBRARY(e3torch_linear, m) {
  m.def("forward(Tensor x, Tensor w, Tensor tab, int dim, bool transpose) -> Tensor");
  m.def("grad_weight(Tensor x, Tensor g, Tensor tab, int nw) -> Tensor");
}

TORCH_LIBRARY_IMPL(e3torch_linear, CPU, m) {
  m.impl("forward", &e3lin::forward);
  m.impl("grad_weight", &e3lin::grad_weight);
}

TORCH_LIBRARY_IMPL(e3torch_linear, Autograd, m) {
  m.impl("forward", &e3lin::forward_autograd);
  m.impl("grad_weight", &e3lin::grad_weight_autograd);
}
