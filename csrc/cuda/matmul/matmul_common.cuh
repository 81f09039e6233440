// Device helpers shared by the matmul rungs (NVRTC-compatible: no host headers outside the guard):
// batch pointers, bounds-checked element loads that honour the transpose flags of MatmulArgs,
// and the tile loader of rungs 06-08 (16-byte vector loads where alignment allows, checked scalar
// loads elsewhere).  Host half: how a rung names, configures and launches its one kernel.
#pragma once
#include "../../common/kb_types.h"
#include "../../common/kb_device.cuh"

namespace kb {
// gridDim.y and gridDim.z are at most 65535: launchers clamp them and kernels loop over the
// tile rows / batch entries beyond (a no-op loop in every ordinary launch).
constexpr unsigned kMaxGridYZ = 65535;

template <typename T>
struct MatmulBatch {
  const T* a;
  const T* b;
  T* c;
};

template <typename T>
__device__ __forceinline__ MatmulBatch<T> batch_pointers(const MatmulArgs& p, kb_int64 batch) {
  MatmulBatch<T> m;
  m.a = static_cast<const T*>(p.a) + batch * p.stride_a;
  m.b = static_cast<const T*>(p.b) + batch * p.stride_b;
  m.c = static_cast<T*>(p.c) + batch * p.stride_c;
  return m;
}

// A(i, q) and B(q, j) as accumulator values; zero outside the matrix (pads partial tiles).
template <typename T>
__device__ __forceinline__ typename Acc<T>::type load_a(const MatmulArgs& p, const T* a, kb_int64 i, kb_int64 q) {
  if (i >= p.m || q >= p.k) return 0;
  return to_float(p.trans_a ? a[q * p.lda + i] : a[i * p.lda + q]);
}
template <typename T>
__device__ __forceinline__ typename Acc<T>::type load_b(const MatmulArgs& p, const T* b, kb_int64 q, kb_int64 j) {
  if (q >= p.k || j >= p.n) return 0;
  return to_float(p.trans_b ? b[j * p.ldb + q] : b[q * p.ldb + j]);
}

// ---- 16-byte vector access -------------------------------------------------------------------
// Elements per 16-byte vector: 4 fp32, 8 fp16/bf16, 2 fp64.
template <typename T>
struct Vec16 {
  static constexpr int width = 16 / int(sizeof(T));
};

__device__ __forceinline__ bool is_aligned16(const void* ptr) {
  return (reinterpret_cast<kb_size_t>(ptr) & 15u) == 0;
}

// Every row start of every batch entry of an operand is 16-byte aligned: the base pointer, the
// leading dimension and the batch stride all allow it.  Checked on the device from MatmulArgs,
// so a launch configuration never depends on pointer values.
template <typename T>
__device__ __forceinline__ bool rows_vec_ok(const void* ptr, kb_int64 ld, kb_int64 stride) {
  constexpr kb_int64 w = Vec16<T>::width;
  return is_aligned16(ptr) && (ld & (w - 1)) == 0 && (stride & (w - 1)) == 0;
}

// N consecutive accumulator values to shared memory; fp32 as float4 (d 16-byte aligned).
template <int N>
__device__ __forceinline__ void store_contig(float* d, const float* v) {
  static_assert(N % 4 == 0, "whole float4s");
#pragma unroll
  for (int i = 0; i < N; i += 4) *reinterpret_cast<float4*>(d + i) = make_float4(v[i], v[i + 1], v[i + 2], v[i + 3]);
}
template <int N>
__device__ __forceinline__ void store_contig(double* d, const double* v) {
#pragma unroll
  for (int i = 0; i < N; ++i) d[i] = v[i];
}

// ---- the K-major tile loader (06, 07, and 08) -----------------------------------------------
// Moves the (BK, BX) tile of one operand at (k0, x0) into shared memory K-major,
// dst[q * LDS + x] = X(k0 + q, x0 + x), widened to the accumulator type, zero outside the matrix.
// For A, x is the row i of C; for B, x is the column j.  In global memory element (q, x) sits at
// src[q * ld + x] when x_contig (A transposed, B not) and at src[x * ld + q] otherwise (A not
// transposed: the tile is transposed on its way into shared memory).  Consecutive threads walk
// the contiguous direction, so global reads coalesce.  With `vec`, each thread moves whole
// 16-byte vectors (element-wise only where a vector crosses the matrix edge).
// init() works out once what does not change along K: this thread's first element and its smem
// offset (its further elements follow at fixed steps); per K tile, fetch() reads the thread's
// elements into registers (so a pipeline can issue it early), store() writes them to shared
// memory, next() moves to the next K tile.  Tiles wholly inside the matrix (the common, block-
// uniform case) skip every bounds check.
template <typename T, int BK, int BX, int LDS, int THREADS>
struct TileLoader {
  typedef typename Acc<T>::type AccT;
  static constexpr int VW = Vec16<T>::width;
  static constexpr int ELEMS = BK * BX, NVEC = ELEMS / VW;
  static_assert(THREADS % BX == 0 && THREADS % BK == 0, "each thread walks its elements with one fixed step");
  static_assert(BK % VW == 0 && BX % VW == 0, "16-byte vectors tile both tile dimensions");
  static_assert(NVEC % THREADS == 0 || NVEC < THREADS, "vectors split evenly (or one for some threads)");
  static_assert(LDS % 4 == 0 && LDS >= BX, "smem rows start on 16-byte boundaries");
  static constexpr int SCALARS = ELEMS / THREADS;                       // per thread, scalar path
  static constexpr int VECTORS = NVEC >= THREADS ? NVEC / THREADS : 1;  // per thread, vector path
  static constexpr int RAW_S = (SCALARS * int(sizeof(T)) + 15) / 16;
  static constexpr int RAW = VECTORS > RAW_S ? VECTORS : RAW_S;  // 16-byte registers of fetched data

  const T* g;       // global address of this thread's first element in the current K tile
  kb_int64 ld;      // leading dimension of the operand
  kb_int64 q_room;  // K rows in the matrix from this thread's first element of K tile 0
  int x_room;       // X columns left from this thread's first element (clamped to 2 * BX)
  int s_first;      // shared-memory offset of this thread's first element
  bool xc, vec;
  uint4 raw[RAW];   // fetched, not yet stored: vectors (vector path) or packed elements (scalar)

  __device__ __forceinline__ T* elems() { return reinterpret_cast<T*>(raw); }
  __device__ __forceinline__ const T* elems() const { return reinterpret_cast<const T*>(raw); }
  // Steps between this thread's elements (or vectors) in tile coordinates, smem and global memory.
  __device__ __forceinline__ int dq() const { return !xc ? 0 : (vec ? THREADS / (BX / VW) : THREADS / BX); }
  __device__ __forceinline__ int dx() const { return xc ? 0 : (vec ? THREADS / (BK / VW) : THREADS / BK); }
  __device__ __forceinline__ int s_step() const { return dq() * LDS + dx(); }
  __device__ __forceinline__ kb_int64 g_step() const { return (dq() + dx()) * ld; }  // one of them is 0
  // Threads without a vector (only when the tile has fewer vectors than the block has threads).
  __device__ __forceinline__ static bool idle_vector(int v) { return NVEC < THREADS && (v > 0 || (int)threadIdx.x >= NVEC); }

  __device__ __forceinline__ void init(const T* base, kb_int64 ld_, bool x_contig, bool vec_ok, kb_int64 x0,
                                       kb_int64 x_lim, kb_int64 k_lim) {
    const int tid = threadIdx.x;
    ld = ld_;
    xc = x_contig;
    vec = vec_ok;
    int q_t, x_t;  // tile coordinates of this thread's first element
    if (vec) {
      const int per_row = xc ? BX / VW : BK / VW;  // vectors per contiguous row of the tile
      const int lead = tid / per_row, off = (tid % per_row) * VW;
      q_t = xc ? lead : off;
      x_t = xc ? off : lead;
    } else {
      q_t = xc ? tid / BX : tid % BK;
      x_t = xc ? tid % BX : tid / BK;
    }
    g = base + (xc ? (x0 + x_t) + q_t * ld : (x0 + x_t) * ld + q_t);  // dereferenced only where in range
    q_room = k_lim - q_t;
    const kb_int64 xr = x_lim - x0 - x_t;
    x_room = xr > 2 * BX ? 2 * BX : (int)xr;
    s_first = q_t * LDS + x_t;
  }

  // K rows left in the matrix from this thread's first element of the tile at k0, clamped to [0, 2 BK].
  __device__ __forceinline__ int k_rows_left(kb_int64 k0) const {
    const kb_int64 qr = q_room - k0;
    return qr > 2 * BK ? 2 * BK : (qr < 0 ? 0 : (int)qr);
  }

  __device__ __forceinline__ void next() { g += xc ? BK * ld : BK; }

  // Fetch the K tile that starts at k0.  full: the whole tile lies inside the matrix: no checks.
  __device__ __forceinline__ void fetch(bool full, kb_int64 k0) {
    if (full && vec) return fetch_vectors();
    T* el = elems();
    const kb_int64 gs = g_step();
    const T* ptr = g;  // walks this thread's elements (an add per step: nothing to hoist out of the K loop)
    if (full) {
#pragma unroll
      for (int s = 0; s < SCALARS; ++s, ptr += gs) el[s] = *ptr;
      return;
    }
    const T zero = from_acc<T>(AccT(0));
    const int qr = k_rows_left(k0), step_q = dq(), step_x = dx();
    if (vec) {
      const int xs = xc ? VW : 1, qs = xc ? 1 : VW;  // extent of one vector along x and along q
#pragma unroll
      for (int v = 0; v < VECTORS; ++v, ptr += gs) {
        if (idle_vector(v)) continue;
        const int qv = v * step_q, xv = v * step_x;
        if (qv + qs <= qr && xv + xs <= x_room) {
          raw[v] = *reinterpret_cast<const uint4*>(ptr);
        } else {  // a vector crossing the edge of the matrix
#pragma unroll
          for (int e = 0; e < VW; ++e) {
            const bool in = xc ? (qv < qr && xv + e < x_room) : (qv + e < qr && xv < x_room);
            el[v * VW + e] = in ? ptr[e] : zero;
          }
        }
      }
    } else {
#pragma unroll
      for (int s = 0; s < SCALARS; ++s, ptr += gs) el[s] = (s * step_q < qr && s * step_x < x_room) ? *ptr : zero;
    }
  }

  // The vector path of a tile wholly inside the matrix: nothing but the loads.
  __device__ __forceinline__ void fetch_vectors() {
    const kb_int64 gs = g_step();
    const T* ptr = g;
#pragma unroll
    for (int v = 0; v < VECTORS; ++v, ptr += gs)
      if (!idle_vector(v)) raw[v] = *reinterpret_cast<const uint4*>(ptr);
  }

  __device__ __forceinline__ void store(AccT* dst) const {
    if (vec && !xc) return store_vectors_transposed(dst);
    const T* el = elems();
    const int ss = s_step();
    if (vec) {  // x-contiguous vectors: contiguous in smem too
#pragma unroll
      for (int v = 0; v < VECTORS; ++v) {
        if (idle_vector(v)) continue;
        AccT w[VW];
#pragma unroll
        for (int e = 0; e < VW; ++e) w[e] = to_float(el[v * VW + e]);
        store_contig<VW>(dst + s_first + v * ss, w);
      }
    } else {
#pragma unroll
      for (int s = 0; s < SCALARS; ++s) dst[s_first + s * ss] = to_float(el[s]);
    }
  }

  // Vectors along K (vec && !xc) land in a column of the K-major tile: transposing stores.
  __device__ __forceinline__ void store_vectors_transposed(AccT* dst) const {
    constexpr int STEP = THREADS / (BK / VW);  // x step between this thread's vectors
    const T* el = elems();
#pragma unroll
    for (int v = 0; v < VECTORS; ++v) {
      if (idle_vector(v)) continue;
#pragma unroll
      for (int e = 0; e < VW; ++e) dst[s_first + v * STEP + e * LDS] = to_float(el[v * VW + e]);
    }
  }
};
}  // namespace kb

#ifndef __CUDACC_RTC__
// ---- host side: one kernel launch per rung, described once ----------------------------------
#include <string>
#include "../../common/kb_cuda.cuh"

namespace kb {
// A kernel instantiation: its C++ name expression (for NVRTC / CuPy) and its host stub.
// KB_KERNEL_REF(kb::foo<float, 128>) stringifies the very expression it takes the address of,
// so the name a LaunchConfig reports and the kernel a launcher runs cannot drift apart.
struct KernelRef {
  const char* name;
  const void* fn;
};
#define KB_KERNEL_REF(...) ::kb::KernelRef{#__VA_ARGS__, (const void*)(&__VA_ARGS__)}

// Everything about a rung's one launch for a problem.  config() and the launcher both derive
// from the rung's plan function, so the CuPy launch is the launcher's launch.
struct MatmulLaunch {
  KernelRef kernel;
  dim3 grid, block;
  std::size_t shared_bytes;
};

// Nothing to launch: empty C.  (K == 0 with a non-empty C still launches: the kernels write zeros.)
inline bool matmul_is_empty(const MatmulArgs& p) { return p.m <= 0 || p.n <= 0 || p.batch <= 0; }

// Grid (x tiles, y tiles, batch) with y and z clamped to 65535; kernels loop over the rest.
inline dim3 matmul_grid(kb_int64 tiles_x, kb_int64 tiles_y, kb_int64 batch) {
  KB_REQUIRE(tiles_x <= 0x7fffffff, "a, b: problem too large for one launch (" << tiles_x << " column tiles)");
  const auto clamp = [](kb_int64 v) { return (unsigned)(v < 0 ? 0 : (v > kMaxGridYZ ? kMaxGridYZ : v)); };
  return dim3((unsigned)(tiles_x < 0 ? 0 : tiles_x), clamp(tiles_y), clamp(batch));
}

// "Enough (BM, BN) tiles to fill a big GPU": about two blocks per SM on a ~128-SM part.
// A shape-only rule, so configurations do not depend on the device that asks.
inline bool matmul_fills_gpu(const MatmulArgs& p, int bm, int bn) {
  return ceil_div(p.m, bm) * ceil_div(p.n, bn) * p.batch >= 256;
}

inline LaunchConfig to_config(const MatmulLaunch& l) {
  LaunchConfig c;
  c.kernel = l.kernel.name;
  c.grid[0] = l.grid.x; c.grid[1] = l.grid.y; c.grid[2] = l.grid.z;
  c.block[0] = l.block.x; c.block[1] = l.block.y; c.block[2] = l.block.z;
  c.shared_bytes = l.shared_bytes;
  return c;
}

// The launch itself: kernel(MatmulArgs p) by value, opting in to > 48 KB of dynamic smem.
inline void launch_matmul(const MatmulLaunch& l, const MatmulArgs& p, void* stream) {
  if (l.shared_bytes > 48 * 1024)
    KB_CUDA_CHECK(cudaFuncSetAttribute(l.kernel.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)l.shared_bytes));
  MatmulArgs arg = p;
#ifdef KB_SIM
  void (*kernel)(MatmulArgs) = reinterpret_cast<void (*)(MatmulArgs)>(const_cast<void*>(l.kernel.fn));
  ::kbsim::launch(l.kernel.name, l.kernel.fn, l.grid, l.block, l.shared_bytes, [&] { kernel(arg); });
#else
  void* args[] = {&arg};
  KB_CUDA_CHECK(cudaLaunchKernel(l.kernel.fn, l.grid, l.block, args, l.shared_bytes, as_stream(stream)));
#endif
  KB_CUDA_CHECK_LAUNCH();
}

// The two public functions of a rung that is one kernel launch, both from its plan function:
// `<rung>_config`, the launch the CuPy/NVRTC twin repeats, and `<rung>`, the launcher that makes
// exactly that launch (nothing for an empty C).  Written once here, used by every such rung file.
#define KB_ONE_LAUNCH_RUNG(rung, plan)                                            \
  LaunchConfig rung##_config(const MatmulArgs& p) { return to_config(plan(p)); } \
  void rung(const MatmulArgs& p, void* stream) {                                  \
    const MatmulLaunch l = plan(p);                                                \
    if (!matmul_is_empty(p)) launch_matmul(l, p, stream);                          \
  }
}  // namespace kb
#endif
