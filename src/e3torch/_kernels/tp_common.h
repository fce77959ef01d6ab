// Shared helpers of the tensor-product kernels: the sample tile ("lanes"), transposes between the samples-major
// tensors and the lane-major tiles, and a register-blocked matrix product for the weight contractions.
//
// A tile holds ZT consecutive samples; every feature row of a tile is a "lane vector" of ZT scalars (one per
// sample, 64 bytes), so all arithmetic of the kernels is elementwise over lanes and vectorises regardless of the
// multiplicities of the irreps.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace e3tp {

template <typename T>
struct Lanes {
  static constexpr int ZT = 64 / sizeof(T);  // 16 floats or 8 doubles
};

// One lane vector (64 bytes) as a GCC vector type: arithmetic on it is elementwise over the ZT lanes.
template <typename T>
struct LaneVec {
  typedef T type __attribute__((vector_size(64), may_alias));
  typedef T unaligned __attribute__((vector_size(64), may_alias, aligned(sizeof(T))));
};
template <typename T>
using LV = typename LaneVec<T>::type;

template <typename T>
inline LV<T> ld(const T* p) {  // p is 64-byte aligned (every row of a tile is)
  return *reinterpret_cast<const LV<T>*>(p);
}
template <typename T>
inline void st(T* p, const LV<T>& v) {
  *reinterpret_cast<LV<T>*>(p) = v;
}
template <typename T>
inline LV<T> ldu(const T* p) {
  return *reinterpret_cast<const typename LaneVec<T>::unaligned*>(p);
}
template <typename T>
inline void stu(T* p, const LV<T>& v) {
  *reinterpret_cast<typename LaneVec<T>::unaligned*>(p) = v;
}

// A zero-initialised, 64-byte aligned buffer (tiles and scratch).
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(int64_t n) { resize(n); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(data_); }
  void resize(int64_t n) {
    std::free(data_);
    const size_t bytes = ((size_t(n > 0 ? n : 1) * sizeof(T) + 63) / 64) * 64;
    data_ = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_, 0, bytes);
    size_ = n;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  int64_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  int64_t size_ = 0;
};

// ---------------------------------------------------------------------------------------------------------------
// Transposes. load_tile: rows [z0, z0 + nz) of a (Z, D) matrix with row stride ld -> tile[f * ZT + l]; lanes
// l >= nz are zero. store_tile: the inverse, writing only the nz valid lanes.

template <typename T>
inline void load_tile_scalar(const T* __restrict x, int64_t ld, int nz, int64_t D, T* __restrict tile) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int64_t f = 0; f < D; ++f) {
    T* row = tile + f * ZT;
    for (int l = 0; l < nz; ++l) row[l] = x[l * ld + f];
    for (int l = nz; l < ZT; ++l) row[l] = T(0);
  }
}

template <typename T>
inline void store_tile_scalar(const T* __restrict tile, int nz, int64_t D, T* __restrict x, int64_t ld) {
  constexpr int ZT = Lanes<T>::ZT;
  for (int l = 0; l < nz; ++l) {
    T* dst = x + l * ld;
    for (int64_t f = 0; f < D; ++f) dst[f] = tile[f * ZT + l];
  }
}

#if defined(__AVX__)
// 8 x 8 float transpose in registers: r[i] holds row i on entry and column i on exit.
inline void transpose8_ps(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5, __m256& r6,
                          __m256& r7) {
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(s0, s4, 0x20);
  r1 = _mm256_permute2f128_ps(s1, s5, 0x20);
  r2 = _mm256_permute2f128_ps(s2, s6, 0x20);
  r3 = _mm256_permute2f128_ps(s3, s7, 0x20);
  r4 = _mm256_permute2f128_ps(s0, s4, 0x31);
  r5 = _mm256_permute2f128_ps(s1, s5, 0x31);
  r6 = _mm256_permute2f128_ps(s2, s6, 0x31);
  r7 = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// src: 8 rows with stride ss; dst: 8 rows with stride ds; dst[c][r] = src[r][c] for an 8 x 8 block.
inline void transpose_block8(const float* src, int64_t ss, float* dst, int64_t ds) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ss), r2 = _mm256_loadu_ps(src + 2 * ss),
         r3 = _mm256_loadu_ps(src + 3 * ss), r4 = _mm256_loadu_ps(src + 4 * ss),
         r5 = _mm256_loadu_ps(src + 5 * ss), r6 = _mm256_loadu_ps(src + 6 * ss),
         r7 = _mm256_loadu_ps(src + 7 * ss);
  transpose8_ps(r0, r1, r2, r3, r4, r5, r6, r7);
  _mm256_storeu_ps(dst, r0);
  _mm256_storeu_ps(dst + ds, r1);
  _mm256_storeu_ps(dst + 2 * ds, r2);
  _mm256_storeu_ps(dst + 3 * ds, r3);
  _mm256_storeu_ps(dst + 4 * ds, r4);
  _mm256_storeu_ps(dst + 5 * ds, r5);
  _mm256_storeu_ps(dst + 6 * ds, r6);
  _mm256_storeu_ps(dst + 7 * ds, r7);
}

// 4 x 4 double transpose.
inline void transpose_block4(const double* src, int64_t ss, double* dst, int64_t ds) {
  __m256d r0 = _mm256_loadu_pd(src), r1 = _mm256_loadu_pd(src + ss), r2 = _mm256_loadu_pd(src + 2 * ss),
          r3 = _mm256_loadu_pd(src + 3 * ss);
  __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
  __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
  _mm256_storeu_pd(dst, _mm256_permute2f128_pd(t0, t2, 0x20));
  _mm256_storeu_pd(dst + ds, _mm256_permute2f128_pd(t1, t3, 0x20));
  _mm256_storeu_pd(dst + 2 * ds, _mm256_permute2f128_pd(t0, t2, 0x31));
  _mm256_storeu_pd(dst + 3 * ds, _mm256_permute2f128_pd(t1, t3, 0x31));
}

template <typename T>
struct Block8 {
  static constexpr int B = 8;
};
template <>
struct Block8<double> {
  static constexpr int B = 4;
};

template <typename T>
inline void transpose_block(const T* src, int64_t ss, T* dst, int64_t ds) {
  if constexpr (sizeof(T) == 4) {
    transpose_block8(src, ss, dst, ds);
  } else {
    transpose_block4(src, ss, dst, ds);
  }
}

template <typename T>
inline void load_tile(const T* __restrict x, int64_t ld, int nz, int64_t D, T* __restrict tile) {
  constexpr int ZT = Lanes<T>::ZT;
  constexpr int B = Block8<T>::B;
  if (nz < ZT) {
    load_tile_scalar(x, ld, nz, D, tile);
    return;
  }
  int64_t f = 0;
  for (; f + B <= D; f += B)
    for (int l = 0; l < ZT; l += B) transpose_block(x + l * ld + f, ld, tile + f * ZT + l, ZT);
  for (; f < D; ++f)
    for (int l = 0; l < ZT; ++l) tile[f * ZT + l] = x[l * ld + f];
}

template <typename T>
inline void store_tile(const T* __restrict tile, int nz, int64_t D, T* __restrict x, int64_t ld) {
  constexpr int ZT = Lanes<T>::ZT;
  constexpr int B = Block8<T>::B;
  if (nz < ZT) {
    store_tile_scalar(tile, nz, D, x, ld);
    return;
  }
  int64_t f = 0;
  for (; f + B <= D; f += B)
    for (int l = 0; l < ZT; l += B) transpose_block(tile + f * ZT + l, ZT, x + l * ld + f, ld);
  for (; f < D; ++f)
    for (int l = 0; l < ZT; ++l) x[l * ld + f] = tile[f * ZT + l];
}
#else
template <typename T>
inline void load_tile(const T* x, int64_t ld, int nz, int64_t D, T* tile) {
  load_tile_scalar(x, ld, nz, D, tile);
}
template <typename T>
inline void store_tile(const T* tile, int nz, int64_t D, T* x, int64_t ld) {
  store_tile_scalar(tile, nz, D, x, ld);
}
#endif

// dst[c * ldd + r] = src[r * lds + c] for r < R, c < Cn (8 x 8 or 4 x 4 register blocks, scalar edges).
template <typename T>
inline void transpose_matrix(const T* __restrict src, int64_t R, int64_t Cn, int64_t lds, T* __restrict dst,
                             int64_t ldd) {
#if defined(__AVX__)
  constexpr int B = Block8<T>::B;
  int64_t r = 0;
  for (; r + B <= R; r += B) {
    int64_t c = 0;
    for (; c + B <= Cn; c += B) transpose_block(src + r * lds + c, lds, dst + c * ldd + r, ldd);
    for (; c < Cn; ++c)
      for (int i = 0; i < B; ++i) dst[c * ldd + r + i] = src[(r + i) * lds + c];
  }
  for (; r < R; ++r)
    for (int64_t c = 0; c < Cn; ++c) dst[c * ldd + r] = src[r * lds + c];
#else
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < Cn; ++c) dst[c * ldd + r] = src[r * lds + c];
#endif
}

// ---------------------------------------------------------------------------------------------------------------
// C[m][n] += sum_k A[m * sam + k * sak] * B[k * ldb + n] for m < M, n < N, k < K (A read as broadcast scalars,
// B and C rows contiguous, any alignment). MR rows x NV lane vectors of C stay in registers over a chunk of K.

template <typename T, int MR, int NV>
inline void gemm_block(int K, const T* __restrict A, int64_t sam, int64_t sak, const T* __restrict B, int64_t ldb,
                       T* __restrict C, int64_t ldc) {
  constexpr int ZT = Lanes<T>::ZT;
  LV<T> c[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NV; ++j) c[r][j] = ldu(C + r * ldc + j * ZT);
  for (int k = 0; k < K; ++k) {
    LV<T> b[NV];
    for (int j = 0; j < NV; ++j) b[j] = ldu(B + k * ldb + j * ZT);
    const T* a = A + k * sak;
    for (int r = 0; r < MR; ++r) {
      const T x = a[r * sam];
      for (int j = 0; j < NV; ++j) c[r][j] += x * b[j];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NV; ++j) stu(C + r * ldc + j * ZT, c[r][j]);
}

// Rows of C in blocks of MR, then 8, 4, 2, 1 for the remainder.
template <typename T, int MR, int NV>
inline void gemm_rows(int M, int K, const T* A, int64_t sam, int64_t sak, const T* B, int64_t ldb, T* C,
                      int64_t ldc) {
  int m = 0;
  for (; m + MR <= M; m += MR) gemm_block<T, MR, NV>(K, A + m * sam, sam, sak, B, ldb, C + m * ldc, ldc);
  if (MR > 8 && m + 8 <= M) {
    gemm_block<T, 8, NV>(K, A + m * sam, sam, sak, B, ldb, C + m * ldc, ldc);
    m += 8;
  }
  if (m + 4 <= M) {
    gemm_block<T, 4, NV>(K, A + m * sam, sam, sak, B, ldb, C + m * ldc, ldc);
    m += 4;
  }
  if (m + 2 <= M) {
    gemm_block<T, 2, NV>(K, A + m * sam, sam, sak, B, ldb, C + m * ldc, ldc);
    m += 2;
  }
  if (m < M) gemm_block<T, 1, NV>(K, A + m * sam, sam, sak, B, ldb, C + m * ldc, ldc);
}

// Register blocks (rows of C per block, for two or one lane vectors of columns): with AVX-512 a lane vector is one
// of 32 registers, otherwise two of 16.
#if defined(__AVX512F__)
constexpr int kRows2 = 6, kRows1 = 8;
#else
constexpr int kRows2 = 3, kRows1 = 6;
#endif

template <typename T>
void gemm_acc(int M, int N, int K, const T* A, int64_t sam, int64_t sak, const T* B, int64_t ldb, T* C,
              int64_t ldc) {
  constexpr int ZT = Lanes<T>::ZT;
  constexpr int KC = 256;
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = K - k0 < KC ? K - k0 : KC;
    const T* Ak = A + k0 * sak;
    const T* Bk = B + k0 * ldb;
    int n = 0;
    for (; n + 2 * ZT <= N; n += 2 * ZT) gemm_rows<T, kRows2, 2>(M, kc, Ak, sam, sak, Bk + n, ldb, C + n, ldc);
    for (; n + ZT <= N; n += ZT) gemm_rows<T, kRows1, 1>(M, kc, Ak, sam, sak, Bk + n, ldb, C + n, ldc);
    if (n < N) {
      for (int m = 0; m < M; ++m)
        for (int k = 0; k < kc; ++k) {
          const T a = Ak[m * sam + k * sak];
          const T* b = Bk + k * ldb;
          T* c = C + m * ldc;
          for (int j = n; j < N; ++j) c[j] += a * b[j];
        }
    }
  }
}

}  // namespace e3tp
