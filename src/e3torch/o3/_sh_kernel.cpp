// Spherical harmonics on the CPU: one pass per point, everything in registers / a small per-thread table.
//
// e3nn's basis: y is the polar axis, w = z + i x the azimuthal plane. For every point the kernel runs
//   * the azimuthal recursion  C_m + i S_m = w^m  (C_{m+1} = z C_m - x S_m,  S_{m+1} = z S_m + x C_m);
//   * the three-term recursion of the normalised associated Legendre polynomials of the homogeneous variables
//     (u, s) = (y, |x|^2):  P_m^m = diag[m],  P_l^m = A[l,m] u P_{l-1}^m - B[l,m] s P_{l-2}^m;
// and the harmonic of degree l and order m is P_l^|m| * (C_m for m > 0, 1 for m = 0, S_|m| for m < 0), times a
// per-column scale (normalisation, sqrt 2). The backward pass differentiates the same recursions in forward mode.
// All constants come from the Python plan (float64); this file only executes it.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace e3sh {

struct Plan {
  int64_t lmax;
  const double* a;      // (T,) T = (lmax+1)(lmax+2)/2, index l(l+1)/2 + m
  const double* b;      // (T,)
  const double* diag;   // (lmax+1,)
  const int64_t* pos;   // (C,) position of each output column in the full table l^2 + l + m
  const double* scale;  // (C,)
  int64_t ncols;
};

inline int64_t tri(int64_t l, int64_t m) { return l * (l + 1) / 2 + m; }

// Points are processed in blocks of L lanes; every loop over lanes is innermost and works on local fixed-size
// arrays (no aliasing), so that the compiler vectorises the arithmetic. Tables are laid out [entry][lane].
constexpr int64_t L = 16;
#define E3SH_LANES for (int64_t j = 0; j < L; ++j)

template <typename T>
struct alignas(64) Lanes {
  T x[L], y[L], z[L], inv[L], r2[L], nonzero[L];
};

// load points [i0, i0 + count) (the other lanes are zero), normalise, azimuthal recursion into c, s [(lmax+1) L]
template <typename T>
inline void load_block(Lanes<T>& v, T* __restrict c, T* __restrict s, const T* __restrict xs, int64_t i0,
                       int64_t count, int64_t lmax, bool normalize) {
  if (count == L) {
    E3SH_LANES {
      v.x[j] = xs[3 * (i0 + j)];
      v.y[j] = xs[3 * (i0 + j) + 1];
      v.z[j] = xs[3 * (i0 + j) + 2];
    }
  } else {
    for (int64_t j = 0; j < L; ++j) {
      const bool in = j < count;
      v.x[j] = in ? xs[3 * (i0 + j)] : T(0);
      v.y[j] = in ? xs[3 * (i0 + j) + 1] : T(0);
      v.z[j] = in ? xs[3 * (i0 + j) + 2] : T(0);
    }
  }
  if (normalize) {
    E3SH_LANES {
      const T q = v.x[j] * v.x[j] + v.y[j] * v.y[j] + v.z[j] * v.z[j];
      const T nz = q > T(0) ? T(1) : T(0);
      const T inv = T(1) / std::sqrt(q > T(0) ? q : T(1));
      v.nonzero[j] = nz;
      v.inv[j] = inv;
      v.x[j] *= inv;
      v.y[j] *= inv;
      v.z[j] *= inv;
    }
  }
  E3SH_LANES {
    v.r2[j] = v.x[j] * v.x[j] + v.y[j] * v.y[j] + v.z[j] * v.z[j];
    c[j] = T(1);
    s[j] = T(0);
  }
  for (int64_t m = 1; m <= lmax; ++m) {
    T* __restrict cm = c + m * L;
    T* __restrict sm = s + m * L;
    const T* __restrict c1 = c + (m - 1) * L;
    const T* __restrict s1 = s + (m - 1) * L;
    E3SH_LANES {
      cm[j] = v.z[j] * c1[j] - v.x[j] * s1[j];
      sm[j] = v.z[j] * s1[j] + v.x[j] * c1[j];
    }
  }
}

template <typename T>
void forward_impl(const T* __restrict xs, T* __restrict out, int64_t n, const Plan& p, bool normalize) {
  const int64_t lmax = p.lmax, ncols = p.ncols;
  const int64_t full = (lmax + 1) * (lmax + 1);
  const int64_t nblocks = (n + L - 1) / L;
  at::parallel_for(0, nblocks, 16, [&](int64_t b0, int64_t b1) {
    std::vector<T> table_(full * L), c_((lmax + 1) * L), s_((lmax + 1) * L), scale_(p.scale, p.scale + ncols);
    std::vector<T> a_(p.a, p.a + tri(lmax, lmax) + 1), b_(p.b, p.b + tri(lmax, lmax) + 1), d_(p.diag, p.diag + lmax + 1);
    std::vector<int64_t> pos_(ncols);
    for (int64_t k = 0; k < ncols; ++k) pos_[k] = p.pos[k] * L;
    T* __restrict table = table_.data();
    T* __restrict c = c_.data();
    T* __restrict s = s_.data();
    const T* __restrict scale = scale_.data();
    const T* __restrict ta = a_.data();
    const T* __restrict tb = b_.data();
    const T* __restrict td = d_.data();
    const int64_t* __restrict pos = pos_.data();
    Lanes<T> v;
    alignas(64) T p1[L], p2[L];
    for (int64_t bi = b0; bi < b1; ++bi) {
      const int64_t i0 = bi * L, count = std::min(L, n - i0);
      load_block(v, c, s, xs, i0, count, lmax, normalize);
      for (int64_t m = 0; m <= lmax; ++m) {
        const T d = td[m];
        E3SH_LANES {
          p1[j] = d;
          p2[j] = T(0);
        }
        const T* __restrict cm = c + m * L;
        const T* __restrict sm = s + m * L;
        for (int64_t l = m; l <= lmax; ++l) {
          if (l > m) {
            const int64_t t = tri(l, m);
            const T a = ta[t], b = tb[t];
            E3SH_LANES {
              const T pl = a * v.y[j] * p1[j] - b * v.r2[j] * p2[j];
              p2[j] = p1[j];
              p1[j] = pl;
            }
          }
          const int64_t centre = l * l + l;
          if (m == 0) {
            T* __restrict row = table + centre * L;
            E3SH_LANES row[j] = p1[j];
          } else {
            T* __restrict rc = table + (centre + m) * L;
            T* __restrict rs = table + (centre - m) * L;
            E3SH_LANES {
              rc[j] = p1[j] * cm[j];
              rs[j] = p1[j] * sm[j];
            }
          }
        }
      }
      for (int64_t j = 0; j < count; ++j) {
        T* __restrict row = out + (i0 + j) * ncols;
        const T* __restrict col = table + j;
        for (int64_t k = 0; k < ncols; ++k) row[k] = col[pos[k]] * scale[k];
      }
    }
  });
}

template <typename T>
void backward_impl(const T* __restrict grad, const T* __restrict xs, T* __restrict gx_out, int64_t n, const Plan& p,
                   bool normalize) {
  const int64_t lmax = p.lmax, ncols = p.ncols;
  const int64_t full = (lmax + 1) * (lmax + 1);
  const int64_t nblocks = (n + L - 1) / L;
  at::parallel_for(0, nblocks, 16, [&](int64_t b0, int64_t b1) {
    std::vector<T> g_(full * L), c_((lmax + 1) * L), s_((lmax + 1) * L), scale_(p.scale, p.scale + ncols);
    std::vector<T> a_(p.a, p.a + tri(lmax, lmax) + 1), b_(p.b, p.b + tri(lmax, lmax) + 1), d_(p.diag, p.diag + lmax + 1);
    std::vector<int64_t> pos_(ncols);
    for (int64_t k = 0; k < ncols; ++k) pos_[k] = p.pos[k] * L;
    const T* __restrict ta = a_.data();
    const T* __restrict tb = b_.data();
    const T* __restrict td = d_.data();
    T* __restrict g = g_.data();
    T* __restrict c = c_.data();
    T* __restrict s = s_.data();
    const T* __restrict scale = scale_.data();
    const int64_t* __restrict pos = pos_.data();
    Lanes<T> v;
    alignas(64) T p1[L], p2[L], p1u[L], p2u[L], p1s[L], p2s[L], gx[L], gy[L], gz[L];
    for (int64_t bi = b0; bi < b1; ++bi) {
      const int64_t i0 = bi * L, count = std::min(L, n - i0);
      std::fill(g_.begin(), g_.end(), T(0));
      for (int64_t j = 0; j < count; ++j) {
        const T* __restrict row = grad + (i0 + j) * ncols;
        T* __restrict col = g + j;
        for (int64_t k = 0; k < ncols; ++k) col[pos[k]] += row[k] * scale[k];
      }
      load_block(v, c, s, xs, i0, count, lmax, normalize);
      E3SH_LANES gx[j] = gy[j] = gz[j] = T(0);
      for (int64_t m = 0; m <= lmax; ++m) {
        const T d = td[m];
        E3SH_LANES {
          p1[j] = d;
          p2[j] = p1u[j] = p2u[j] = p1s[j] = p2s[j] = T(0);
        }
        const T* __restrict cm = c + m * L;
        const T* __restrict sm = s + m * L;
        const T* __restrict cm1 = c + (m > 0 ? m - 1 : 0) * L;
        const T* __restrict sm1 = s + (m > 0 ? m - 1 : 0) * L;
        const T mm = T(m);
        for (int64_t l = m; l <= lmax; ++l) {
          if (l > m) {
            const int64_t t = tri(l, m);
            const T a = ta[t], b = tb[t];
            E3SH_LANES {
              const T y = v.y[j], r2 = v.r2[j];
              const T pl = a * y * p1[j] - b * r2 * p2[j];
              const T pu = a * (p1[j] + y * p1u[j]) - b * r2 * p2u[j];
              const T ps = a * y * p1s[j] - b * (p2[j] + r2 * p2s[j]);
              p2[j] = p1[j];
              p2u[j] = p1u[j];
              p2s[j] = p1s[j];
              p1[j] = pl;
              p1u[j] = pu;
              p1s[j] = ps;
            }
          }
          const int64_t centre = l * l + l;
          if (m == 0) {
            const T* __restrict gr = g + centre * L;
            E3SH_LANES {
              const T two_ps_q = T(2) * p1s[j] * gr[j];
              gx[j] += two_ps_q * v.x[j];
              gy[j] += p1u[j] * gr[j] + two_ps_q * v.y[j];
              gz[j] += two_ps_q * v.z[j];
            }
          } else {
            const T* __restrict gc = g + (centre + m) * L;
            const T* __restrict gs = g + (centre - m) * L;
            E3SH_LANES {
              const T q = gc[j] * cm[j] + gs[j] * sm[j];
              const T qz = mm * (gc[j] * cm1[j] + gs[j] * sm1[j]);
              const T qx = mm * (gs[j] * cm1[j] - gc[j] * sm1[j]);
              const T two_ps_q = T(2) * p1s[j] * q;
              gx[j] += two_ps_q * v.x[j] + p1[j] * qx;
              gy[j] += p1u[j] * q + two_ps_q * v.y[j];
              gz[j] += two_ps_q * v.z[j] + p1[j] * qz;
            }
          }
        }
      }
      if (normalize) {
        E3SH_LANES {
          const T dot = v.x[j] * gx[j] + v.y[j] * gy[j] + v.z[j] * gz[j];
          const T k = v.nonzero[j];  // 1: project and scale; 0 (zero vector): keep
          const T f = k * v.inv[j] + (T(1) - k);
          gx[j] = f * (gx[j] - k * v.x[j] * dot);
          gy[j] = f * (gy[j] - k * v.y[j] * dot);
          gz[j] = f * (gz[j] - k * v.z[j] * dot);
        }
      }
      for (int64_t j = 0; j < count; ++j) {
        gx_out[3 * (i0 + j)] = gx[j];
        gx_out[3 * (i0 + j) + 1] = gy[j];
        gx_out[3 * (i0 + j) + 2] = gz[j];
      }
    }
  });
}

// The plan tables as contiguous float64 / int64 CPU tensors (kept alive by the caller for the kernel's duration).
struct Tables {
  at::Tensor a, b, diag, pos, scale;
};

Tables as_tables(const at::Tensor& a, const at::Tensor& b, const at::Tensor& diag, const at::Tensor& pos,
                 const at::Tensor& scale, int64_t lmax) {
  auto f64 = [](const at::Tensor& t) { return t.to(at::kCPU, at::kDouble).contiguous(); };
  Tables t{f64(a), f64(b), f64(diag), pos.to(at::kCPU, at::kLong).contiguous(), f64(scale)};
  TORCH_CHECK(lmax >= 0, "e3torch_sh: lmax must be non-negative");
  TORCH_CHECK(t.a.numel() == (lmax + 1) * (lmax + 2) / 2 && t.b.numel() == t.a.numel() && t.diag.numel() == lmax + 1,
              "e3torch_sh: plan tables do not match lmax");
  TORCH_CHECK(t.pos.numel() == t.scale.numel(), "e3torch_sh: pos and scale differ in length");
  const int64_t* pp = t.pos.data_ptr<int64_t>();
  for (int64_t k = 0; k < t.pos.numel(); ++k)
    TORCH_CHECK(pp[k] >= 0 && pp[k] < (lmax + 1) * (lmax + 1), "e3torch_sh: column position out of range");
  return t;
}

Plan make_plan(const Tables& t, int64_t lmax) {
  return Plan{lmax, t.a.data_ptr<double>(), t.b.data_ptr<double>(), t.diag.data_ptr<double>(),
              t.pos.data_ptr<int64_t>(), t.scale.data_ptr<double>(), t.pos.numel()};
}

at::Tensor forward(const at::Tensor& x, const at::Tensor& a, const at::Tensor& b, const at::Tensor& diag,
                   const at::Tensor& pos, const at::Tensor& scale, int64_t lmax, bool normalize) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == 3, "e3torch_sh: expected x of shape (N, 3)");
  Tables tables = as_tables(a, b, diag, pos, scale, lmax);
  Plan p = make_plan(tables, lmax);
  at::Tensor xc = x.contiguous();
  at::Tensor out = at::empty({x.size(0), p.ncols}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "e3torch_sh_forward", [&] {
    forward_impl<scalar_t>(xc.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), x.size(0), p, normalize);
  });
  return out;
}

at::Tensor backward(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& a, const at::Tensor& b,
                    const at::Tensor& diag, const at::Tensor& pos, const at::Tensor& scale, int64_t lmax,
                    bool normalize) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == 3, "e3torch_sh: expected x of shape (N, 3)");
  Tables tables = as_tables(a, b, diag, pos, scale, lmax);
  Plan p = make_plan(tables, lmax);
  TORCH_CHECK(grad.dim() == 2 && grad.size(0) == x.size(0) && grad.size(1) == p.ncols,
              "e3torch_sh: expected grad of shape (N, C)");
  at::Tensor xc = x.contiguous();
  at::Tensor gc = grad.to(x.scalar_type()).contiguous();
  at::Tensor out = at::empty({x.size(0), 3}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "e3torch_sh_backward", [&] {
    backward_impl<scalar_t>(gc.data_ptr<scalar_t>(), xc.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), x.size(0), p,
                            normalize);
  });
  return out;
}

}  // namespace e3sh

TORCH_LIBRARY(e3torch_sh, m) {
  m.def(
      "forward(Tensor x, Tensor a, Tensor b, Tensor diag, Tensor pos, Tensor scale, int lmax, bool normalize) "
      "-> Tensor");
  m.def(
      "backward(Tensor grad, Tensor x, Tensor a, Tensor b, Tensor diag, Tensor pos, Tensor scale, int lmax, "
      "bool normalize) -> Tensor");
}

TORCH_LIBRARY_IMPL(e3torch_sh, CPU, m) {
  m.impl("forward", &e3sh::forward);
  m.impl("backward", &e3sh::backward);
}
