// Fused CPU batch normalization of a direct sum of irreps: the operators e3torch_bn::forward and
// e3torch_bn::backward.
//
// Layout: x is (n, dim); comp_channel (dim,) int64 gives the channel (irrep copy) of every component, scalar_cols
// (S,) int64 the components of the 0e copies (channel order). With component normalization the second moment of a
// channel is divided by its number of components.
//
// forward(x, weight?, bias?, running_mean?, running_var?, comp_channel, scalar_cols, num_channels, component,
//         eps, training) -> (out, mean, field)
//   training: pass 1 reduces per-block column sums (of x - x[0] on the 0e components, so that the centred second
//   moment does not cancel) into per-thread partials, combined at the end; mean (S,) are the batch means of the 0e
//   components and field (C,) the biased batch second moment of every channel (centred for 0e). Pass 2 writes
//   out = x * scale + shift once, scale = weight / sqrt(field + eps), shift = bias - mean * scale on 0e.
//   eval: one pass with the running statistics; mean and field come back empty.
//
// backward(g, x, weight?, mean, field, comp_channel, scalar_cols, num_channels, component, eps, training,
//          need_x, need_w, need_b) -> (grad_x, grad_w, grad_b)
//   mean and field are the statistics the forward used (batch statistics in training, running ones in eval).
//   Pass 1: column sums of g and of g * (x - mean); pass 2 (need_x) writes
//   grad_x = g * scale + x * k + c once, with per-component k and c from the column sums (training), or
//   g * scale (eval). Outputs not needed come back empty.
#include <ATen/ATen.h>
#include <ATen/AccumulateType.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace e3bn {

constexpr int64_t kRowGrain = 64;  // rows per task of the elementwise passes

struct Layout {
  int64_t n = 0, dim = 0, C = 0, S = 0;
  std::vector<int64_t> channel;  // (dim,) channel of each component
  std::vector<int64_t> scalar;   // (dim,) slot among the 0e components, or -1
  std::vector<double> divisor;   // (C,) components per channel (component normalization) or 1
};

Layout make_layout(const at::Tensor& x, const at::Tensor& comp_channel, const at::Tensor& scalar_cols,
                   int64_t num_channels, bool component) {
  TORCH_CHECK(x.dim() == 2, "e3torch_bn: expected x of shape (n, dim), got ", x.sizes());
  TORCH_CHECK(x.device().is_cpu(), "e3torch_bn: CPU tensors expected, got x on ", x.device());
  Layout L;
  L.n = x.size(0);
  L.dim = x.size(1);
  L.C = num_channels;
  TORCH_CHECK(comp_channel.dim() == 1 && comp_channel.size(0) == L.dim && comp_channel.scalar_type() == at::kLong,
              "e3torch_bn: expected comp_channel of shape (", L.dim, ",) and dtype int64, got ",
              comp_channel.sizes(), " ", comp_channel.scalar_type());
  TORCH_CHECK(scalar_cols.dim() == 1 && scalar_cols.scalar_type() == at::kLong,
              "e3torch_bn: expected scalar_cols of shape (S,) and dtype int64, got ", scalar_cols.sizes(), " ",
              scalar_cols.scalar_type());
  L.S = scalar_cols.size(0);
  const at::Tensor cc = comp_channel.contiguous(), sc = scalar_cols.contiguous();
  const int64_t* cp = cc.data_ptr<int64_t>();
  const int64_t* sp = sc.data_ptr<int64_t>();
  L.channel.assign(cp, cp + L.dim);
  L.scalar.assign(L.dim, -1);
  L.divisor.assign(L.C, component ? 0.0 : 1.0);
  for (int64_t j = 0; j < L.dim; ++j) {
    TORCH_CHECK(L.channel[j] >= 0 && L.channel[j] < L.C, "e3torch_bn: comp_channel[", j, "] = ", L.channel[j],
                " out of range [0, ", L.C, ")");
    if (component) L.divisor[L.channel[j]] += 1.0;
  }
  for (int64_t s = 0; s < L.S; ++s) {
    TORCH_CHECK(sp[s] >= 0 && sp[s] < L.dim, "e3torch_bn: scalar_cols[", s, "] = ", sp[s], " out of range");
    L.scalar[sp[s]] = s;
  }
  for (int64_t c = 0; c < L.C; ++c) L.divisor[c] = std::max(L.divisor[c], 1.0);
  return L;
}

// A (C,) or (S,) vector as doubles; absent: `fill`.
std::vector<double> values(const c10::optional<at::Tensor>& t, int64_t size, double fill, const char* name) {
  std::vector<double> out(size, fill);
  if (!t.has_value() || !t->defined()) return out;
  TORCH_CHECK(t->dim() == 1 && t->size(0) == size, "e3torch_bn: expected ", name, " of shape (", size, ",), got ",
              t->sizes());
  const at::Tensor d = t->to(at::kDouble).contiguous();
  std::copy_n(d.data_ptr<double>(), size, out.begin());
  return out;
}

// Rows with unit column stride, read in place (a broadcast row, stride 0, stays one row).
at::Tensor rows(const at::Tensor& t) {
  if (t.dim() == 2 && (t.stride(1) == 1 || t.size(1) <= 1)) return t;
  if (t.dim() == 2 && t.stride(0) == 0 && t.size(0) > 0) return t.narrow(0, 0, 1).contiguous().expand(t.sizes());
  return t.contiguous();
}

// Number of row blocks of a reduction: one per thread, each at least kRowGrain rows.
inline int64_t num_blocks(int64_t n) {
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n / kRowGrain));
}

// Row kernels over dim contiguous components, two vectors per step (the unrolling matters on one core).
template <typename T>
inline void row_moments(const T* __restrict a, const T* __restrict sh, T* __restrict t1, T* __restrict t2,
                        int64_t dim) {  // t1 += a - sh, t2 += (a - sh)^2
  using V = at::vec::Vectorized<T>;
  constexpr int64_t W = V::size();
  int64_t j = 0;
  for (; j + 2 * W <= dim; j += 2 * W) {
    const V d0 = V::loadu(a + j) - V::loadu(sh + j), d1 = V::loadu(a + j + W) - V::loadu(sh + j + W);
    (V::loadu(t1 + j) + d0).store(t1 + j);
    (V::loadu(t1 + j + W) + d1).store(t1 + j + W);
    at::vec::fmadd(d0, d0, V::loadu(t2 + j)).store(t2 + j);
    at::vec::fmadd(d1, d1, V::loadu(t2 + j + W)).store(t2 + j + W);
  }
  for (; j < dim; ++j) {
    const T d = a[j] - sh[j];
    t1[j] += d;
    t2[j] += d * d;
  }
}

template <typename T>
inline void row_cross(const T* __restrict a, const T* __restrict b, const T* __restrict sh, T* __restrict t1,
                      T* __restrict t2, int64_t dim) {  // t1 += b, t2 += b * (a - sh)
  using V = at::vec::Vectorized<T>;
  constexpr int64_t W = V::size();
  int64_t j = 0;
  for (; j + 2 * W <= dim; j += 2 * W) {
    const V b0 = V::loadu(b + j), b1 = V::loadu(b + j + W);
    (V::loadu(t1 + j) + b0).store(t1 + j);
    (V::loadu(t1 + j + W) + b1).store(t1 + j + W);
    at::vec::fmadd(b0, V::loadu(a + j) - V::loadu(sh + j), V::loadu(t2 + j)).store(t2 + j);
    at::vec::fmadd(b1, V::loadu(a + j + W) - V::loadu(sh + j + W), V::loadu(t2 + j + W)).store(t2 + j + W);
  }
  for (; j < dim; ++j) {
    t1[j] += b[j];
    t2[j] += b[j] * (a[j] - sh[j]);
  }
}

template <typename T>
inline void row_affine(const T* __restrict a, const T* __restrict p, const T* __restrict q, T* __restrict o,
                       int64_t dim) {  // o = a * p + q
  using V = at::vec::Vectorized<T>;
  constexpr int64_t W = V::size();
  int64_t j = 0;
  for (; j + 2 * W <= dim; j += 2 * W) {
    const V r0 = at::vec::fmadd(V::loadu(a + j), V::loadu(p + j), V::loadu(q + j));
    const V r1 = at::vec::fmadd(V::loadu(a + j + W), V::loadu(p + j + W), V::loadu(q + j + W));
    r0.store(o + j);
    r1.store(o + j + W);
  }
  for (; j < dim; ++j) o[j] = a[j] * p[j] + q[j];
}

template <typename T>
inline void row_affine2(const T* __restrict a, const T* __restrict b, const T* __restrict p, const T* __restrict q,
                        const T* __restrict r, T* __restrict o, int64_t dim) {  // o = a * p + (b * r + q)
  using V = at::vec::Vectorized<T>;
  constexpr int64_t W = V::size();
  int64_t j = 0;
  for (; j + 2 * W <= dim; j += 2 * W) {
    const V u0 = at::vec::fmadd(V::loadu(b + j), V::loadu(r + j), V::loadu(q + j));
    const V u1 = at::vec::fmadd(V::loadu(b + j + W), V::loadu(r + j + W), V::loadu(q + j + W));
    at::vec::fmadd(V::loadu(a + j), V::loadu(p + j), u0).store(o + j);
    at::vec::fmadd(V::loadu(a + j + W), V::loadu(p + j + W), u1).store(o + j + W);
  }
  for (; j < dim; ++j) o[j] = a[j] * p[j] + (b[j] * r[j] + q[j]);
}

// Column sums of (a - shift) and (a - shift)^2, or (when `b` is given) of b and b * (a - shift): one block of
// rows per thread, summed in T over kInner rows at a time and then into accumulators of type A (double for
// float data), combined over the blocks at the end.
template <typename T, typename A>
void column_sums(const T* a, int64_t lda, const T* b, int64_t ldb, int64_t n, int64_t dim, const T* shift,
                 A* sum1, A* sum2) {
  constexpr int64_t kInner = 32;
  const int64_t nb = num_blocks(n);
  std::vector<A> part(2 * nb * dim, A(0));
  at::parallel_for(0, nb, 1, [&](int64_t b0, int64_t b1) {
    std::vector<T> inner(2 * dim);
    T* __restrict t1 = inner.data();
    T* __restrict t2 = t1 + dim;
    const T* __restrict sh = shift;
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t r0 = n * blk / nb, r1 = n * (blk + 1) / nb;
      A* __restrict s1 = part.data() + 2 * blk * dim;
      A* __restrict s2 = s1 + dim;
      for (int64_t i0 = r0; i0 < r1; i0 += kInner) {
        const int64_t i1 = std::min(r1, i0 + kInner);
        std::fill_n(t1, 2 * dim, T(0));
        for (int64_t i = i0; i < i1; ++i) {
          if (b == nullptr)
            row_moments<T>(a + i * lda, sh, t1, t2, dim);
          else
            row_cross<T>(a + i * lda, b + i * ldb, sh, t1, t2, dim);
        }
#pragma omp simd
        for (int64_t j = 0; j < dim; ++j) {
          s1[j] += A(t1[j]);
          s2[j] += A(t2[j]);
        }
      }
    }
  });
  for (int64_t j = 0; j < dim; ++j) {
    A t1 = 0, t2 = 0;
    for (int64_t blk = 0; blk < nb; ++blk) {
      t1 += part[2 * blk * dim + j];
      t2 += part[(2 * blk + 1) * dim + j];
    }
    sum1[j] = t1;
    sum2[j] = t2;
  }
}

// out = a * p + q (and + b * r when b is given), row by row; p, q, r per component.
template <typename T>
void affine_pass(const T* a, int64_t lda, const T* b, int64_t ldb, T* out, int64_t n, int64_t dim,
                 const std::vector<T>& p, const std::vector<T>& q, const std::vector<T>& r) {
  at::parallel_for(0, n, kRowGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      if (b == nullptr)
        row_affine<T>(a + i * lda, p.data(), q.data(), out + i * dim, dim);
      else
        row_affine2<T>(a + i * lda, b + i * ldb, p.data(), q.data(), r.data(), out + i * dim, dim);
    }
  });
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> forward(
    const at::Tensor& x_in, const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
    const c10::optional<at::Tensor>& running_mean, const c10::optional<at::Tensor>& running_var,
    const at::Tensor& comp_channel, const at::Tensor& scalar_cols, int64_t num_channels, bool component, double eps,
    bool training) {
  const at::Tensor x = rows(x_in);
  TORCH_CHECK(x.dim() == 2, "e3torch_bn: expected x of shape (n, dim), got ", x.sizes());
  at::Tensor out = at::empty({x.size(0), x.size(1)}, x.options());
  const Layout L = make_layout(x, comp_channel, scalar_cols, num_channels, component);
  const int64_t n = L.n, dim = L.dim, C = L.C, S = L.S;
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
              "e3torch_bn::forward: expected float32 or float64 input, got ", x.scalar_type());
  TORCH_CHECK(!training || n > 0, "e3torch_bn::forward: training needs at least one row");
  const std::vector<double> w = values(weight, C, 1.0, "weight");
  const std::vector<double> bb = values(bias, S, 0.0, "bias");
  std::vector<double> mean(S, 0.0), field(C, 0.0);
  at::Tensor mean_t = at::empty({training ? S : 0}, x.options());
  at::Tensor field_t = at::empty({training ? C : 0}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "e3torch_bn::forward", [&] {
    using A = at::acc_type<scalar_t, false>;
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const int64_t ld = x.stride(0);
    if (training) {
      std::vector<scalar_t> shift(dim, scalar_t(0));  // x[0] on the 0e components: the sums do not cancel
      std::vector<A> s1(dim), s2(dim);
      for (int64_t j = 0; j < dim; ++j)
        if (L.scalar[j] >= 0) shift[j] = xp[j];
      column_sums<scalar_t, A>(xp, ld, nullptr, 0, n, dim, shift.data(), s1.data(), s2.data());
      for (int64_t j = 0; j < dim; ++j) {
        double m2 = double(s2[j]);
        if (L.scalar[j] >= 0) {
          const double d = double(s1[j]) / double(n);
          mean[L.scalar[j]] = double(shift[j]) + d;
          m2 -= double(s1[j]) * d;
          m2 = std::max(m2, 0.0);
        }
        field[L.channel[j]] += m2;
      }
      for (int64_t c = 0; c < C; ++c) field[c] /= double(n) * L.divisor[c];
      scalar_t* mp = mean_t.data_ptr<scalar_t>();
      scalar_t* fp = field_t.data_ptr<scalar_t>();
      for (int64_t s = 0; s < S; ++s) mp[s] = scalar_t(mean[s]);
      for (int64_t c = 0; c < C; ++c) fp[c] = scalar_t(field[c]);
    } else {
      field = values(running_var, C, 1.0, "running_var");
      mean = values(running_mean, S, 0.0, "running_mean");
    }
    std::vector<scalar_t> p(dim), q(dim, scalar_t(0)), r;
    for (int64_t j = 0; j < dim; ++j) {
      const int64_t c = L.channel[j];
      const double scale = w[c] / std::sqrt(field[c] + eps);
      p[j] = scalar_t(scale);
      if (L.scalar[j] >= 0) q[j] = scalar_t(bb[L.scalar[j]] - mean[L.scalar[j]] * scale);
    }
    if (n > 0) affine_pass<scalar_t>(xp, ld, nullptr, 0, out.data_ptr<scalar_t>(), n, dim, p, q, r);
  });
  return {out, mean_t, field_t};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> backward(
    const at::Tensor& g_in, const at::Tensor& x_in, const c10::optional<at::Tensor>& weight, const at::Tensor& mean_in,
    const at::Tensor& field_in, const at::Tensor& comp_channel, const at::Tensor& scalar_cols, int64_t num_channels,
    bool component, double eps, bool training, bool need_x, bool need_w, bool need_b) {
  const at::Tensor x = rows(x_in), g = rows(g_in);
  TORCH_CHECK(x.dim() == 2, "e3torch_bn: expected x of shape (n, dim), got ", x.sizes());
  at::Tensor gx = at::empty({need_x ? x.size(0) : 0, need_x ? x.size(1) : 0}, x.options());
  const Layout L = make_layout(x, comp_channel, scalar_cols, num_channels, component);
  const int64_t n = L.n, dim = L.dim, C = L.C, S = L.S;
  TORCH_CHECK(g.dim() == 2 && g.size(0) == n && g.size(1) == dim, "e3torch_bn::backward: expected g of shape (", n,
              ", ", dim, "), got ", g.sizes());
  TORCH_CHECK(g.scalar_type() == x.scalar_type(), "e3torch_bn::backward: g and x must have the same dtype, got ",
              g.scalar_type(), " and ", x.scalar_type());
  const std::vector<double> w = values(weight, C, 1.0, "weight");
  const std::vector<double> mean = values(mean_in, S, 0.0, "mean");
  const std::vector<double> field = values(field_in, C, 1.0, "field");
  const bool sums = training || need_w || need_b;
  at::Tensor gw = at::empty({need_w ? C : 0}, x.options());
  at::Tensor gb = at::empty({need_b ? S : 0}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "e3torch_bn::backward", [&] {
    using A = at::acc_type<scalar_t, false>;
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* gp = g.data_ptr<scalar_t>();
    const int64_t ldx = x.stride(0), ldg = g.size(0) > 1 ? g.stride(0) : 0;
    std::vector<scalar_t> shift(dim, scalar_t(0));
    std::vector<A> gsum(dim, A(0)), gxc(dim, A(0));
    for (int64_t j = 0; j < dim; ++j)
      if (L.scalar[j] >= 0) shift[j] = scalar_t(mean[L.scalar[j]]);
    if (sums && n > 0) column_sums<scalar_t, A>(xp, ldx, gp, ldg, n, dim, shift.data(), gsum.data(), gxc.data());
    std::vector<double> a(C, 0.0), inv(C);  // a: dL/d(scale) of each channel
    for (int64_t j = 0; j < dim; ++j) a[L.channel[j]] += double(gxc[j]);
    for (int64_t c = 0; c < C; ++c) inv[c] = 1.0 / std::sqrt(field[c] + eps);
    if (need_w) {
      scalar_t* p = gw.data_ptr<scalar_t>();
      for (int64_t c = 0; c < C; ++c) p[c] = scalar_t(a[c] * inv[c]);
    }
    if (need_b) {
      scalar_t* p = gb.data_ptr<scalar_t>();
      for (int64_t j = 0; j < dim; ++j)
        if (L.scalar[j] >= 0) p[L.scalar[j]] = scalar_t(gsum[j]);
    }
    if (need_x && n > 0) {
      // grad_x = g * scale + (x - mean) * k - [0e] scale * sum(g) / n, k = dL/dfield * dfield/dx / (x - mean)
      std::vector<scalar_t> p(dim), q(dim, scalar_t(0)), r(dim, scalar_t(0));
      for (int64_t j = 0; j < dim; ++j) {
        const int64_t c = L.channel[j];
        const double scale = w[c] * inv[c];
        r[j] = scalar_t(scale);
        if (training) {
          const double k = -a[c] * w[c] * inv[c] * inv[c] * inv[c] / (double(n) * L.divisor[c]);
          p[j] = scalar_t(k);
          if (L.scalar[j] >= 0) q[j] = scalar_t(-double(shift[j]) * k - scale * double(gsum[j]) / double(n));
        }
      }
      if (training)
        affine_pass<scalar_t>(xp, ldx, gp, ldg, gx.data_ptr<scalar_t>(), n, dim, p, q, r);
      else  // eval: the statistics are constants, grad_x = g * scale
        affine_pass<scalar_t>(gp, ldg, nullptr, 0, gx.data_ptr<scalar_t>(), n, dim, r, q, p);
    }
  });
  return {gx, gw, gb};
}

}  // namespace e3bn

TORCH_LIBRARY(e3torch_bn, m) {
  m.def(
      "forward(Tensor x, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, "
      "Tensor comp_channel, Tensor scalar_cols, int num_channels, bool component, float eps, bool training) "
      "-> (Tensor, Tensor, Tensor)");
  m.def(
      "backward(Tensor g, Tensor x, Tensor? weight, Tensor mean, Tensor field, Tensor comp_channel, "
      "Tensor scalar_cols, int num_channels, bool component, float eps, bool training, bool need_x, bool need_w, "
      "bool need_b) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(e3torch_bn, CPU, m) {
  m.impl("forward", &e3bn::forward);
  m.impl("backward", &e3bn::backward);
}
